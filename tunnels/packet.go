package tunnels

import (
	"encoding/binary"
	"net/netip"
)

// Header sizes and offsets of the packets the tunnel looks into.
const (
	IPv4HeaderLen = 20
	IPv6HeaderLen = 40
	EthHeaderLen  = 14
	icmpHeaderLen = 8

	v4offTotLen = 2
	v4offFrag   = 6
	v4offTTL    = 8
	v4offProto  = 9
	v4offCsum   = 10
	v4offSrc    = 12
	v4offDst    = 16

	v6offPayLen = 4
	v6offNext   = 6
	v6offHop    = 7
	v6offSrc    = 8
	v6offDst    = 24

	protoICMP   = 1
	protoICMPv6 = 58

	// maxICMPv4 and maxICMPv6 bound an ICMP error as RFC 1812 and
	// RFC 4443 ask: as much of the offending packet as fits in 576 and
	// 1280 bytes.
	maxICMPv4 = 576
	maxICMPv6 = 1280

	// MinIPv6MTU is the smallest MTU IPv6 works over (RFC 8200).
	MinIPv6MTU = 1280
)

// Drop is why a packet was not passed on.
type Drop uint8

// The reasons for a drop.
const (
	DropNone         Drop = iota
	DropNotIP             // tun: neither IPv4 nor IPv6 (e.g. an Ethernet frame)
	DropTruncated         // shorter than its header
	DropBadLength         // a header length or total length that does not fit
	DropTooBig            // larger than the flow carries, answered with ICMP
	DropTooBigNoICMP      // larger than the flow carries, no ICMP possible (no DF, tap, an ICMP error)
	DropNoFlow            // no flow is up
	DropNoRoute           // several flows and none has sent from the destination
	DropFlowWrite         // the flow refused the write
	DropDevWrite          // the device refused the write
	DropDevRead           // the device failed a read (e.g. a GSO packet that does not split)
	numDrops
)

var dropNames = [numDrops]string{"none", "not-ip", "truncated", "bad-length", "too-big-icmp", "too-big", "no-flow", "no-route", "flow-write", "dev-write", "dev-read"}

func (d Drop) String() string {
	if d < numDrops {
		return dropNames[d]
	}
	return "unknown"
}

// CheckIP checks that p is one whole IPv4 or IPv6 packet and returns its
// length as its header says (p may have trailing bytes, which go), or why
// it is not.
func CheckIP(p []byte) (int, Drop) {
	if len(p) == 0 {
		return 0, DropTruncated
	}
	switch p[0] >> 4 {
	case 4:
		if len(p) < IPv4HeaderLen {
			return 0, DropTruncated
		}
		ihl := int(p[0]&0x0f) * 4
		tot := int(binary.BigEndian.Uint16(p[v4offTotLen:]))
		if ihl < IPv4HeaderLen || ihl > len(p) || tot < ihl || tot > len(p) {
			return 0, DropBadLength
		}
		return tot, DropNone
	case 6:
		if len(p) < IPv6HeaderLen {
			return 0, DropTruncated
		}
		tot := IPv6HeaderLen + int(binary.BigEndian.Uint16(p[v6offPayLen:]))
		if tot > len(p) || tot == IPv6HeaderLen && p[v6offNext] == 0 { // a jumbogram's length is elsewhere
			return 0, DropBadLength
		}
		return tot, DropNone
	}
	return 0, DropNotIP
}

// CheckFrame checks that p can be an Ethernet frame.
func CheckFrame(p []byte) Drop {
	if len(p) < EthHeaderLen {
		return DropTruncated
	}
	return DropNone
}

// key is what the switch learns: an IP address (IPv4 in its first 4 bytes,
// the 16th byte 4) or a MAC address (the 16th byte 1).
type key [16]byte

// ipSrc and ipDst are the source and destination of a checked IP packet;
// multi says the destination is multicast or broadcast.
func ipSrc(p []byte) (k key) {
	if p[0]>>4 == 4 {
		copy(k[:], p[v4offSrc:v4offSrc+4])
		k[15] = 4
		return k
	}
	copy(k[:], p[v6offSrc:v6offSrc+16])
	return k
}

func ipDst(p []byte) (k key, multi bool) {
	if p[0]>>4 == 4 {
		copy(k[:], p[v4offDst:v4offDst+4])
		k[15] = 4
		return k, k[0]>>4 == 0xe || k[0]&k[1]&k[2]&k[3] == 0xff
	}
	copy(k[:], p[v6offDst:v6offDst+16])
	return k, k[0] == 0xff
}

func macSrc(p []byte) (k key) {
	copy(k[:], p[6:12])
	k[15] = 1
	return k
}

func macDst(p []byte) (k key, multi bool) {
	copy(k[:], p[0:6])
	k[15] = 1
	return k, p[0]&1 != 0
}

// AppendTooBig appends to dst the ICMP error that tells the sender of pkt,
// a checked IP packet, that the path carries at most mtu bytes: ICMP
// destination unreachable, fragmentation needed (type 3 code 4) for IPv4,
// ICMPv6 packet too big (type 2) for IPv6. The error comes from src, or
// from pkt's destination if src is not of pkt's family. It reports false,
// and appends nothing, where no error may be sent: an IPv4 packet without
// DF or not the first fragment, a packet from an unspecified, multicast or
// broadcast source, or an ICMP error itself.
func AppendTooBig(dst, pkt []byte, mtu int, src netip.Addr) ([]byte, bool) {
	if len(pkt) == 0 {
		return dst, false
	}
	switch pkt[0] >> 4 {
	case 4:
		return appendTooBig4(dst, pkt, mtu, src)
	case 6:
		return appendTooBig6(dst, pkt, mtu, src)
	}
	return dst, false
}

func appendTooBig4(dst, pkt []byte, mtu int, src netip.Addr) ([]byte, bool) {
	if len(pkt) < IPv4HeaderLen {
		return dst, false
	}
	ihl := int(pkt[0]&0x0f) * 4
	frag := binary.BigEndian.Uint16(pkt[v4offFrag:])
	from := pkt[v4offSrc : v4offSrc+4]
	switch {
	case ihl < IPv4HeaderLen || ihl > len(pkt):
		return dst, false
	case frag&0x4000 == 0 || frag&0x1fff != 0: // no DF, or not the first fragment
		return dst, false
	case from[0] == 0 || from[0]>>4 == 0xe || from[0]&from[1]&from[2]&from[3] == 0xff:
		return dst, false
	case pkt[v4offProto] == protoICMP && len(pkt) > ihl && icmpError4(pkt[ihl]):
		return dst, false
	}
	quote := min(len(pkt), maxICMPv4-IPv4HeaderLen-icmpHeaderLen)
	tot := IPv4HeaderLen + icmpHeaderLen + quote
	start := len(dst)
	dst = grow(dst, tot)
	h := dst[start:]
	clear(h[:IPv4HeaderLen+icmpHeaderLen])
	h[0] = 0x45
	h[1] = 0xc0 // internetwork control, as Linux's ICMP errors
	binary.BigEndian.PutUint16(h[v4offTotLen:], uint16(tot))
	h[v4offTTL] = 64
	h[v4offProto] = protoICMP
	if src.Is4() {
		a := src.As4()
		copy(h[v4offSrc:], a[:])
	} else {
		copy(h[v4offSrc:], pkt[v4offDst:v4offDst+4])
	}
	copy(h[v4offDst:], from)
	binary.BigEndian.PutUint16(h[v4offCsum:], ^fold(sum(0, h[:IPv4HeaderLen])))
	m := h[IPv4HeaderLen:]
	m[0], m[1] = 3, 4
	binary.BigEndian.PutUint16(m[6:], uint16(min(mtu, 0xffff)))
	copy(m[icmpHeaderLen:], pkt[:quote])
	binary.BigEndian.PutUint16(m[2:], ^fold(sum(0, m[:icmpHeaderLen+quote])))
	return dst, true
}

// icmpError4 says whether an ICMP type is an error (which no error answers).
func icmpError4(t byte) bool { return t == 3 || t == 4 || t == 5 || t == 11 || t == 12 }

func appendTooBig6(dst, pkt []byte, mtu int, src netip.Addr) ([]byte, bool) {
	if len(pkt) < IPv6HeaderLen {
		return dst, false
	}
	from := pkt[v6offSrc : v6offSrc+16]
	switch {
	case from[0] == 0xff || netip.AddrFrom16([16]byte(from)).IsUnspecified():
		return dst, false
	case pkt[v6offNext] == protoICMPv6 && len(pkt) > IPv6HeaderLen && pkt[IPv6HeaderLen] < 128:
		return dst, false
	}
	quote := min(len(pkt), maxICMPv6-IPv6HeaderLen-icmpHeaderLen)
	plen := icmpHeaderLen + quote
	start := len(dst)
	dst = grow(dst, IPv6HeaderLen+plen)
	h := dst[start:]
	clear(h[:IPv6HeaderLen+icmpHeaderLen])
	h[0] = 0x60
	binary.BigEndian.PutUint16(h[v6offPayLen:], uint16(plen))
	h[v6offNext] = protoICMPv6
	h[v6offHop] = 64
	if src.Is6() && !src.Is4In6() {
		a := src.As16()
		copy(h[v6offSrc:], a[:])
	} else {
		copy(h[v6offSrc:], pkt[v6offDst:v6offDst+16])
	}
	copy(h[v6offDst:], from)
	m := h[IPv6HeaderLen:]
	m[0] = 2
	binary.BigEndian.PutUint32(m[4:], uint32(mtu))
	copy(m[icmpHeaderLen:], pkt[:quote])
	// the pseudo-header: addresses, upper-layer length, next header
	s := sum(0, h[v6offSrc:IPv6HeaderLen])
	s += uint32(plen) + protoICMPv6
	binary.BigEndian.PutUint16(m[2:], ^fold(sum(s, m[:plen])))
	return dst, true
}

// grow extends b by n bytes, reallocating only if its capacity is short.
func grow(b []byte, n int) []byte {
	if cap(b)-len(b) < n {
		nb := make([]byte, len(b), len(b)+n)
		copy(nb, b)
		b = nb
	}
	return b[:len(b)+n]
}

// sum adds b as big-endian 16-bit words to s (the Internet checksum before
// folding).
func sum(s uint32, b []byte) uint32 {
	for len(b) >= 2 {
		s += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint32(b[0]) << 8
	}
	return s
}

func fold(s uint32) uint16 {
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return uint16(s)
}
