//go:build !linux

package tunnels

import (
	"errors"
	"net/netip"
)

// DeviceConfig is the device to make (Linux only).
type DeviceConfig struct {
	TAP    bool
	Name   string
	NS     int
	MTU    int
	IP4    netip.Prefix
	IP6    netip.Prefix
	Routes []netip.Prefix
	Bridge string
}

// OpenDevice fails: tun and tap devices are made on Linux only.
func OpenDevice(cfg DeviceConfig) (Device, error) {
	return nil, errors.New("tun and tap devices are supported on Linux only")
}
