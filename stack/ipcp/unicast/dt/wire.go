package dt

import (
	"encoding/binary"
	"errors"

	"github.com/o7s/ouroboros/stack/qos"
)

// Field sizes and offsets of the PCI for addr_size = 4, eid_size = 8
// (spec SYSTEM §8.3; dt.c dt_init: qc_o = addr_size, ttl_o = qc_o + 1,
// ecn_o = ttl_o + 1, eid_o = ecn_o + 1, head_size = eid_o + eid_size).
const (
	AddrLen = 4 // addr_size: the only one the reference's flat policy accepts
	EIDLen  = 8 // eid_size: the only one the reference's dt_init accepts

	offDst = 0
	offQC  = AddrLen
	offTTL = offQC + 1
	offECN = offTTL + 1
	offEID = offECN + 1

	// HeaderLen is the length of the PCI.
	HeaderLen = offEID + EIDLen
)

// Protocol constants (spec SYSTEM §8.1, §8.3, §11.2).
const (
	// DefaultMaxTTL is the TTL an originator writes unless the layer is
	// configured otherwise (dt max_ttl).
	DefaultMaxTTL = 60
	// FAEID is the endpoint id of the flow allocator.
	FAEID = 0
	// DHTEID is the endpoint id of the DHT directory.
	DHTEID = 1
	// MinFlowEID is the smallest endpoint id of an N+1 flow; smaller ids
	// are components (PROG_RES_FDS in the reference).
	MinFlowEID = 64
)

// ErrTruncated is returned for a packet shorter than the PCI.
var ErrTruncated = errors.New("dt: packet shorter than the PCI")

// Header is a view of the PCI at the front of a packet. Its methods
// expect at least HeaderLen bytes; ParseHeader checks that.
type Header []byte

// Dst is the destination address.
func (h Header) Dst() uint32 { return binary.LittleEndian.Uint32(h[offDst:]) }

// Cube is the QoS cube byte. Forwarding uses the cube of the incoming N-1
// flow instead (spec SYSTEM §15 gotcha 14); the byte is carried as is.
func (h Header) Cube() qos.Cube { return qos.Cube(h[offQC]) }

// TTL is the time to live.
func (h Header) TTL() uint8 { return h[offTTL] }

// ECN is the congestion marking.
func (h Header) ECN() uint8 { return h[offECN] }

// EID is the destination endpoint id.
func (h Header) EID() uint64 { return binary.LittleEndian.Uint64(h[offEID:]) }

// Put writes every field of the PCI.
func (h Header) Put(dst uint32, qc qos.Cube, ttl, ecn uint8, eid uint64) {
	_ = h[HeaderLen-1] // one bounds check
	binary.LittleEndian.PutUint32(h[offDst:], dst)
	h[offQC] = byte(qc)
	h[offTTL] = ttl
	h[offECN] = ecn
	binary.LittleEndian.PutUint64(h[offEID:], eid)
}

// DecTTL decrements the TTL in place and returns the new value. Like the
// reference (dt_pci_des), it wraps: a TTL of 0 becomes 255, and only a
// packet whose TTL becomes 0 here is dropped by the forwarder.
func (h Header) DecTTL() uint8 {
	h[offTTL]--
	return h[offTTL]
}

// OrECN ORs a hop's congestion mark into the ECN byte in place (spec
// SYSTEM §8.10: marks accumulate along the path).
func (h Header) OrECN(mark uint8) { h[offECN] |= mark }

// ParseHeader returns the PCI view of pkt and the SDU that follows it.
func ParseHeader(pkt []byte) (Header, []byte, error) {
	if len(pkt) < HeaderLen {
		return nil, nil, ErrTruncated
	}
	return Header(pkt[:HeaderLen]), pkt[HeaderLen:], nil
}
