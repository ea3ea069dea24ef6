package udp

import (
	"encoding/binary"
	"errors"
	"strconv"

	"github.com/o7s/ouroboros/stack/qos"
)

// Datagram layout (spec SYSTEM §7.1): every datagram starts with a 4-byte
// big-endian endpoint id; eid 0 is a management message, any other eid is
// the receiver's local endpoint id followed by the SDU.
const (
	EIDLen  = 4  // the eid prefix of every datagram
	MgmtEID = 0  // the eid of management messages
	HashLen = 16 // an MD5 directory hash, the only one UDP layers use
)

// The largest datagram each IPCP type reads, eid included, and so the
// largest SDU it carries (spec SYSTEM §7.1, §11.2).
const (
	MaxPacket4 = 8980
	MaxPacket6 = 8952
	MaxSDU4    = MaxPacket4 - EIDLen
	MaxSDU6    = MaxPacket6 - EIDLen
)

// Code is a management message code. The values are UDP's own: the
// Ethernet IPCPs number theirs from 0 (spec SYSTEM §15 gotcha 9).
type Code uint8

const (
	FlowReq   Code = 1
	FlowReply Code = 2
)

func (c Code) String() string {
	switch c {
	case FlowReq:
		return "FLOW_REQ"
	case FlowReply:
		return "FLOW_REPLY"
	}
	return "code(" + strconv.Itoa(int(c)) + ")"
}

// Offsets of the management message (struct mgmt_msg, packed, every
// multi-byte field big-endian).
const (
	offEID       = 0
	offSEID      = 4
	offDEID      = 8
	offResponse  = 12
	offBandwidth = 16
	offDelay     = 24
	offLoss      = 28
	offBER       = 32
	offMaxGap    = 36
	offTimeout   = 40
	offCode      = 44
	offAvail     = 45
	offInOrder   = 46
	// MgmtLen is the length of the management message before its payload.
	MgmtLen = 47
	// FlowReqLen is the shortest FLOW_REQ: the message and the hash; the
	// requester's OAP header, if any, follows.
	FlowReqLen = MgmtLen + HashLen
)

// Errors of the codec.
var (
	ErrTruncated   = errors.New("udp: datagram truncated")
	ErrNotMgmt     = errors.New("udp: not a management message (eid is not 0)")
	ErrUnknownCode = errors.New("udp: unknown management code")
)

// PutEID writes the eid prefix into the first EIDLen bytes of b.
func PutEID(b []byte, eid uint32) { binary.BigEndian.PutUint32(b[offEID:], eid) }

// ParseEID returns the eid of a datagram and the bytes that follow it.
func ParseEID(b []byte) (uint32, []byte, error) {
	if len(b) < EIDLen {
		return 0, nil, ErrTruncated
	}
	return binary.BigEndian.Uint32(b[offEID:]), b[EIDLen:], nil
}

// Mgmt is a management message. In a FLOW_REQ, SEID is the requester's
// eid and DEID is unused (0). In a FLOW_REPLY, SEID is still the
// requester's eid (the flow being answered) and DEID the responder's: the
// reverse of the Ethernet reply's naming (spec SYSTEM §7.1). A reply
// carries no QoS (all zero) and Response is 0 for success or a negative
// error code.
type Mgmt struct {
	Code     Code
	SEID     uint32
	DEID     uint32
	Response int32
	QoS      qos.Spec
}

// Append appends the MgmtLen bytes of m, eid 0 first, to b.
func (m *Mgmt) Append(b []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, MgmtEID)
	b = binary.BigEndian.AppendUint32(b, m.SEID)
	b = binary.BigEndian.AppendUint32(b, m.DEID)
	b = binary.BigEndian.AppendUint32(b, uint32(m.Response))
	b = binary.BigEndian.AppendUint64(b, m.QoS.Bandwidth)
	b = binary.BigEndian.AppendUint32(b, m.QoS.Delay)
	b = binary.BigEndian.AppendUint32(b, m.QoS.Loss)
	b = binary.BigEndian.AppendUint32(b, m.QoS.BER)
	b = binary.BigEndian.AppendUint32(b, m.QoS.MaxGap)
	b = binary.BigEndian.AppendUint32(b, m.QoS.Timeout)
	return append(b, byte(m.Code), m.QoS.Availability, m.QoS.InOrder)
}

// AppendFlowReq appends a FLOW_REQ from requester eid seid for the name
// hash, followed by the opaque OAP header oap (may be empty), to b.
func AppendFlowReq(b []byte, seid uint32, qs qos.Spec, hash, oap []byte) []byte {
	m := Mgmt{Code: FlowReq, SEID: seid, QoS: qs}
	b = m.Append(b)
	b = append(b, hash...)
	return append(b, oap...)
}

// AppendFlowReply appends a FLOW_REPLY answering requester eid reqEID from
// responder eid respEID, followed by the opaque OAP header oap, to b.
func AppendFlowReply(b []byte, reqEID, respEID uint32, response int32, oap []byte) []byte {
	m := Mgmt{Code: FlowReply, SEID: reqEID, DEID: respEID, Response: response}
	b = m.Append(b)
	return append(b, oap...)
}

// ParseMgmt parses the management message at the start of datagram b and
// returns it with the bytes that follow it (a FLOW_REQ's hash and OAP
// header, a FLOW_REPLY's OAP header).
func ParseMgmt(b []byte) (Mgmt, []byte, error) {
	if len(b) < MgmtLen {
		return Mgmt{}, nil, ErrTruncated
	}
	if binary.BigEndian.Uint32(b[offEID:]) != MgmtEID {
		return Mgmt{}, nil, ErrNotMgmt
	}
	m := Mgmt{
		Code:     Code(b[offCode]),
		SEID:     binary.BigEndian.Uint32(b[offSEID:]),
		DEID:     binary.BigEndian.Uint32(b[offDEID:]),
		Response: int32(binary.BigEndian.Uint32(b[offResponse:])),
		QoS: qos.Spec{
			Bandwidth:    binary.BigEndian.Uint64(b[offBandwidth:]),
			Delay:        binary.BigEndian.Uint32(b[offDelay:]),
			Loss:         binary.BigEndian.Uint32(b[offLoss:]),
			BER:          binary.BigEndian.Uint32(b[offBER:]),
			MaxGap:       binary.BigEndian.Uint32(b[offMaxGap:]),
			Timeout:      binary.BigEndian.Uint32(b[offTimeout:]),
			Availability: b[offAvail],
			InOrder:      b[offInOrder],
		},
	}
	if m.Code != FlowReq && m.Code != FlowReply {
		return Mgmt{}, nil, ErrUnknownCode
	}
	return m, b[MgmtLen:], nil
}

// ParseFlowReq splits what follows a FLOW_REQ message into the name hash
// and the OAP header.
func ParseFlowReq(rest []byte) (hash, oap []byte, err error) {
	if len(rest) < HashLen {
		return nil, nil, ErrTruncated
	}
	return rest[:HashLen], rest[HashLen:], nil
}
