package eth

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"

	"github.com/o7s/ouroboros/stack/qos"
)

// Frame headers (spec SYSTEM §6.1). All multi-byte fields are big-endian.
const (
	MACLen = 6

	offDst  = 0  // destination MAC
	offSrc  = 6  // source MAC
	offType = 12 // DIX: ethertype; LLC: 802.3 length

	// DIX: the ethertype, then the endpoint id and the payload length.
	offEID       = 14
	offLen       = 16
	DIXHeaderLen = 18

	// LLC: the 802.3 length (3 + payload), then the 802.2 LLC header.
	offDSAP      = 14
	offSSAP      = 15
	offCtrl      = 16
	LLCHeaderLen = 17
	llcLen       = 3    // DSAP, SSAP, control
	llcUI        = 0x03 // control: unnumbered information
	maxLLCLength = 0x05FF

	// MgmtEID is the DIX endpoint id of management frames.
	MgmtEID = 0
	// MgmtSAP is the LLC SAP of management frames (0x80 on the wire).
	MgmtSAP = 0x01

	// MinFrame is the shortest frame on the wire (without FCS): shorter
	// frames are padded, which is why DIX carries a payload length.
	MinFrame = 60
)

// MAC is an Ethernet address.
type MAC [MACLen]byte

// Broadcast is ff:ff:ff:ff:ff:ff.
var Broadcast = MAC{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// Group tells whether the address is a broadcast or multicast address.
func (m MAC) Group() bool { return m[0]&1 != 0 }

func (m MAC) String() string {
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5])
}

// Errors of the frame and message parsers.
var (
	errShort      = errors.New("eth: frame shorter than its header")
	errLength     = errors.New("eth: length field exceeds the frame")
	errNotLLC     = errors.New("eth: length field > 0x05FF, an Ethernet II frame")
	errLLC        = errors.New("eth: not an LLC UI frame with a payload length")
	errShortMgmt  = errors.New("eth: management message too short")
	errUnknownMsg = errors.New("eth: unknown management message code")
)

// ReverseBits reverses the bit order of a byte (b7..b0 → b0..b7): SAPs go
// on the wire this way.
func ReverseBits(b byte) byte { return bits.Reverse8(b) }

// DIXHeader is a view of the 18-byte header of an eth-dix frame.
type DIXHeader []byte

func (h DIXHeader) Dst() MAC          { return MAC(h[offDst : offDst+MACLen]) }
func (h DIXHeader) Src() MAC          { return MAC(h[offSrc : offSrc+MACLen]) }
func (h DIXHeader) Ethertype() uint16 { return binary.BigEndian.Uint16(h[offType:]) }
func (h DIXHeader) EID() uint16       { return binary.BigEndian.Uint16(h[offEID:]) }
func (h DIXHeader) Length() uint16    { return binary.BigEndian.Uint16(h[offLen:]) }

// Put writes the header; length is the payload length.
func (h DIXHeader) Put(dst, src MAC, ethertype, eid, length uint16) {
	copy(h[offDst:], dst[:])
	copy(h[offSrc:], src[:])
	binary.BigEndian.PutUint16(h[offType:], ethertype)
	binary.BigEndian.PutUint16(h[offEID:], eid)
	binary.BigEndian.PutUint16(h[offLen:], length)
}

// ParseDIX returns the header of a DIX frame and its payload, cut to the
// payload length (the rest is padding). It does not check the ethertype.
func ParseDIX(frame []byte) (DIXHeader, []byte, error) {
	if len(frame) < DIXHeaderLen {
		return nil, nil, errShort
	}
	h := DIXHeader(frame[:DIXHeaderLen])
	n := int(h.Length())
	if n > len(frame)-DIXHeaderLen {
		return nil, nil, errLength
	}
	return h, frame[DIXHeaderLen : DIXHeaderLen+n], nil
}

// LLCHeader is a view of the 17-byte header of an eth-llc frame. SAPs are
// given and returned as numbers; the view reverses their bits.
type LLCHeader []byte

func (h LLCHeader) Dst() MAC       { return MAC(h[offDst : offDst+MACLen]) }
func (h LLCHeader) Src() MAC       { return MAC(h[offSrc : offSrc+MACLen]) }
func (h LLCHeader) Length() uint16 { return binary.BigEndian.Uint16(h[offType:]) }
func (h LLCHeader) DSAP() uint8    { return ReverseBits(h[offDSAP]) }
func (h LLCHeader) SSAP() uint8    { return ReverseBits(h[offSSAP]) }
func (h LLCHeader) Control() uint8 { return h[offCtrl] }

// Put writes the header of a UI frame; n is the payload length.
func (h LLCHeader) Put(dst, src MAC, dsap, ssap uint8, n int) {
	copy(h[offDst:], dst[:])
	copy(h[offSrc:], src[:])
	binary.BigEndian.PutUint16(h[offType:], uint16(llcLen+n))
	h[offDSAP] = ReverseBits(dsap)
	h[offSSAP] = ReverseBits(ssap)
	h[offCtrl] = llcUI
}

// ParseLLC returns the header of an LLC frame and its payload, cut to the
// 802.3 length. Frames whose length field is a DIX ethertype (> 0x05FF),
// shorter than the LLC header, or not UI are refused.
func ParseLLC(frame []byte) (LLCHeader, []byte, error) {
	if len(frame) < LLCHeaderLen {
		return nil, nil, errShort
	}
	h := LLCHeader(frame[:LLCHeaderLen])
	l := int(h.Length())
	switch {
	case l > maxLLCLength:
		return nil, nil, errNotLLC
	case l < llcLen || h.Control() != llcUI:
		return nil, nil, errLLC
	case l-llcLen > len(frame)-LLCHeaderLen:
		return nil, nil, errLength
	}
	return h, frame[LLCHeaderLen : LLCHeaderLen+l-llcLen], nil
}

// Code is a management message code (spec SYSTEM §6.3).
type Code uint8

const (
	FlowReq        Code = 0
	FlowReply      Code = 1
	NameQueryReq   Code = 2
	NameQueryReply Code = 3
)

func (c Code) String() string {
	switch c {
	case FlowReq:
		return "FLOW_REQ"
	case FlowReply:
		return "FLOW_REPLY"
	case NameQueryReq:
		return "NAME_QUERY_REQ"
	case NameQueryReply:
		return "NAME_QUERY_REPLY"
	}
	return fmt.Sprintf("code(%d)", uint8(c))
}

// Management message layouts: packed, big-endian.
const (
	DIXMgmtLen = 39
	LLCMgmtLen = 37

	// DIX: seid deid loss bandwidth ber max_gap delay timeout response
	// in_order code availability.
	dixSEID     = 0
	dixDEID     = 2
	dixLoss     = 4
	dixBW       = 8
	dixBER      = 16
	dixMaxGap   = 20
	dixDelay    = 24
	dixTimeout  = 28
	dixResponse = 32
	dixInOrder  = 36
	dixCode     = 37
	dixAvail    = 38

	// LLC: ssap dsap code availability loss bandwidth ber max_gap delay
	// timeout response in_order.
	llcSSAP     = 0
	llcDSAP     = 1
	llcCode     = 2
	llcAvail    = 3
	llcLoss     = 4
	llcBW       = 8
	llcBER      = 16
	llcMaxGap   = 20
	llcDelay    = 24
	llcTimeout  = 28
	llcResponse = 32
	llcInOrder  = 36
)

// Mgmt is the fixed part of a management message; what follows it (a name
// hash, an OAP message) is the body. DIX uses the endpoint ids, LLC the
// SAPs (plain numbers here: not bit-reversed in the message).
type Mgmt struct {
	Code       Code
	SEID, DEID uint16
	SSAP, DSAP uint8
	QoS        qos.Spec
	Response   int32
}

// AppendDIX appends the 39-byte DIX encoding of m to b.
func (m *Mgmt) AppendDIX(b []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, m.SEID)
	b = binary.BigEndian.AppendUint16(b, m.DEID)
	b = m.appendQoS(b)
	b = binary.BigEndian.AppendUint32(b, uint32(m.Response))
	return append(b, m.QoS.InOrder, byte(m.Code), m.QoS.Availability)
}

// AppendLLC appends the 37-byte LLC encoding of m to b.
func (m *Mgmt) AppendLLC(b []byte) []byte {
	b = append(b, m.SSAP, m.DSAP, byte(m.Code), m.QoS.Availability)
	b = m.appendQoS(b)
	b = binary.BigEndian.AppendUint32(b, uint32(m.Response))
	return append(b, m.QoS.InOrder)
}

// appendQoS appends loss bandwidth ber max_gap delay timeout, the run both
// layouts share at offset 4.
func (m *Mgmt) appendQoS(b []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, m.QoS.Loss)
	b = binary.BigEndian.AppendUint64(b, m.QoS.Bandwidth)
	b = binary.BigEndian.AppendUint32(b, m.QoS.BER)
	b = binary.BigEndian.AppendUint32(b, m.QoS.MaxGap)
	b = binary.BigEndian.AppendUint32(b, m.QoS.Delay)
	return binary.BigEndian.AppendUint32(b, m.QoS.Timeout)
}

// Append appends the encoding of m for the flavour (llc or DIX).
func (m *Mgmt) Append(b []byte, llc bool) []byte {
	if llc {
		return m.AppendLLC(b)
	}
	return m.AppendDIX(b)
}

// MgmtLen is the length of the fixed message for the flavour.
func MgmtLen(llc bool) int {
	if llc {
		return LLCMgmtLen
	}
	return DIXMgmtLen
}

// ParseMgmtDIX parses a DIX management message and returns the body after
// its fixed part.
func ParseMgmtDIX(b []byte) (Mgmt, []byte, error) {
	if len(b) < DIXMgmtLen {
		return Mgmt{}, nil, errShortMgmt
	}
	m := Mgmt{
		Code:     Code(b[dixCode]),
		SEID:     binary.BigEndian.Uint16(b[dixSEID:]),
		DEID:     binary.BigEndian.Uint16(b[dixDEID:]),
		Response: int32(binary.BigEndian.Uint32(b[dixResponse:])),
		QoS:      parseQoS(b[dixLoss:]),
	}
	m.QoS.InOrder, m.QoS.Availability = b[dixInOrder], b[dixAvail]
	return m, b[DIXMgmtLen:], nil
}

// ParseMgmtLLC parses an LLC management message and returns the body after
// its fixed part.
func ParseMgmtLLC(b []byte) (Mgmt, []byte, error) {
	if len(b) < LLCMgmtLen {
		return Mgmt{}, nil, errShortMgmt
	}
	m := Mgmt{
		Code:     Code(b[llcCode]),
		SSAP:     b[llcSSAP],
		DSAP:     b[llcDSAP],
		Response: int32(binary.BigEndian.Uint32(b[llcResponse:])),
		QoS:      parseQoS(b[llcLoss:]),
	}
	m.QoS.InOrder, m.QoS.Availability = b[llcInOrder], b[llcAvail]
	return m, b[LLCMgmtLen:], nil
}

// ParseMgmt parses a management message of the flavour.
func ParseMgmt(b []byte, llc bool) (Mgmt, []byte, error) {
	if llc {
		return ParseMgmtLLC(b)
	}
	return ParseMgmtDIX(b)
}

// parseQoS reads the shared run at offset 4 (b starts at loss).
func parseQoS(b []byte) qos.Spec {
	return qos.Spec{
		Loss:      binary.BigEndian.Uint32(b[dixLoss-dixLoss:]),
		Bandwidth: binary.BigEndian.Uint64(b[dixBW-dixLoss:]),
		BER:       binary.BigEndian.Uint32(b[dixBER-dixLoss:]),
		MaxGap:    binary.BigEndian.Uint32(b[dixMaxGap-dixLoss:]),
		Delay:     binary.BigEndian.Uint32(b[dixDelay-dixLoss:]),
		Timeout:   binary.BigEndian.Uint32(b[dixTimeout-dixLoss:]),
	}
}
