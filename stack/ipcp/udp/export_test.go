package udp

import (
	"context"
	"net/netip"

	"github.com/o7s/ouroboros/stack/ipcp"
)

// Test hooks, for the external tests: no test may send a packet off the
// loopback, so the system resolver is replaced.

// SetSysLookup replaces the system resolver of p (before Bootstrap).
func SetSysLookup(p ipcp.IPCP, f func(ctx context.Context, network, host string) ([]netip.Addr, error)) {
	p.(*IPCP).sysLookup = f
}

// NoSysLookup is a system resolver that knows no name and answers at once.
func NoSysLookup(context.Context, string, string) ([]netip.Addr, error) {
	return nil, errNoSysResolver
}

// SetDNSPort makes p talk to its DNS server on port instead of 53.
func SetDNSPort(p ipcp.IPCP, port uint16) { p.(*IPCP).dnsPort = port }
