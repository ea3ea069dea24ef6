package eth

import (
	"errors"
	"net"
	"strings"

	"github.com/o7s/ouroboros/stack/ipcp"
)

// Link is raw Ethernet frame I/O on one interface, batch-shaped. A frame
// starts at the destination MAC and has no FCS.
//
// ReadBatch and WriteBatch may run at the same time, each from one
// goroutine. After Close both return an error that is net.ErrClosed.
type Link interface {
	// ReadBatch waits for at least one frame and reads up to len(bufs)
	// frames, one per buffer, each at most as long as its buffer. sizes[i]
	// is the length the frame had: larger than len(bufs[i]) when it did
	// not fit and was cut.
	ReadBatch(bufs [][]byte, sizes []int) (int, error)
	// WriteBatch sends the frames in order and returns how many were sent;
	// with an error, frames[n] is the one that failed.
	WriteBatch(frames [][]byte) (int, error)
	// MAC is the interface's address, MTU its MTU (payload bytes after the
	// 14-byte Ethernet header).
	MAC() net.HardwareAddr
	MTU() int
	Close() error
}

// OpenFunc opens the link an IPCP bootstraps on: for eth-llc (llc) or
// eth-dix with conf.Ethertype.
type OpenFunc func(conf ipcp.EthConfig, llc bool) (Link, error)

// BatchSize is how many frames the reader and the writer move per call.
const BatchSize = 64

// MTU rules (spec SYSTEM §6.2).
const (
	maxDIXMTU = 0xFFFF
	maxLLCMTU = 1500
	loMTU     = 9000 // cap for interfaces named lo*
	dixExtra  = DIXHeaderLen - 14
	llcExtra  = LLCHeaderLen - 14
	ethHdrLen = 14
)

// LayerMTU is the MTU an Ethernet IPCP uses on interface dev with MTU
// ifMTU: at most 0xFFFF (DIX) or 1500 (LLC), at most 9000 on lo*.
func LayerMTU(dev string, ifMTU int, llc bool) int {
	mtu := min(ifMTU, maxDIXMTU)
	if llc {
		mtu = min(ifMTU, maxLLCMTU)
	}
	if strings.HasPrefix(dev, "lo") && mtu > loMTU {
		mtu = loMTU
	}
	return mtu
}

// MaxPayload is the largest SDU the IPCP carries at layer MTU mtu: mtu−4
// (DIX) or mtu−3 (LLC).
func MaxPayload(mtu int, llc bool) int {
	if llc {
		return mtu - llcExtra
	}
	return mtu - dixExtra
}

// ErrNoMAC is returned when the link has no 6-byte hardware address.
var ErrNoMAC = errors.New("eth: interface has no Ethernet address")

// Carrier is implemented by links that report their carrier: the channel
// gets a value each time it changes (true: up), and closes with the link.
// The IPCP passes the changes on to the flows it holds (spec SYSTEM §6.2:
// a link down sets the flows down).
type Carrier interface {
	Carrier() <-chan bool
}
