//go:build !linux

package eth

import (
	"errors"
	"fmt"

	"github.com/o7s/ouroboros/stack/ipcp"
)

// OpenAFPacket needs Linux: raw Ethernet goes through AF_PACKET sockets.
func OpenAFPacket(conf ipcp.EthConfig, llc bool) (Link, error) {
	return nil, fmt.Errorf("eth: raw Ethernet on %s: %w", conf.Dev, errors.ErrUnsupported)
}
