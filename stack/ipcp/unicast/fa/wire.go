package fa

import (
	"encoding/binary"
	"errors"
	"strconv"

	"github.com/o7s/ouroboros/stack/qos"
)

// Code is the type of a flow allocator message.
type Code uint8

// The codes of fa.c (FLOW_REQ, FLOW_REPLY, FLOW_UPDATE).
const (
	FlowReq    Code = 0
	FlowReply  Code = 1
	FlowUpdate Code = 2
)

func (c Code) String() string {
	switch c {
	case FlowReq:
		return "FLOW_REQ"
	case FlowReply:
		return "FLOW_REPLY"
	case FlowUpdate:
		return "FLOW_UPDATE"
	}
	return "code(" + strconv.Itoa(int(c)) + ")"
}

// Offsets of struct fa_msg (packed; spec SYSTEM §8.6).
const (
	offSAddr     = 0
	offREID      = 8
	offSEID      = 16
	offBandwidth = 24
	offResponse  = 32
	offDelay     = 36
	offLoss      = 40
	offBER       = 44
	offMaxGap    = 48
	offTimeout   = 52
	offECE       = 56
	offCode      = 58
	offAvail     = 59
	offInOrder   = 60

	// MsgLen is the length of the message before its trailing data.
	MsgLen = 61
	// MaxMsgLen is the longest message, trailing data included, that a
	// flow allocator takes (MSGBUFSZ in the reference).
	MaxMsgLen = 2048
)

// Errors of the codec.
var (
	ErrTruncated   = errors.New("fa: message truncated")
	ErrTooLong     = errors.New("fa: message longer than 2048 bytes")
	ErrUnknownCode = errors.New("fa: unknown message code")
)

// Msg is a flow allocator message: every field of struct fa_msg, whatever
// the code. See the package documentation for which field each code uses.
type Msg struct {
	Code     Code
	SAddr    uint64   // requester's address (FLOW_REQ)
	REID     uint64   // receiver's endpoint id (FLOW_REPLY, FLOW_UPDATE)
	SEID     uint64   // sender's endpoint id (FLOW_REQ, FLOW_REPLY)
	Response int32    // 0 or a negative error code (FLOW_REPLY)
	QoS      qos.Spec // the requested QoS (FLOW_REQ)
	ECE      uint16   // congestion level (FLOW_UPDATE)
}

// Append appends the MsgLen bytes of m to b.
func (m *Msg) Append(b []byte) []byte {
	b = binary.BigEndian.AppendUint64(b, m.SAddr)
	b = binary.BigEndian.AppendUint64(b, m.REID)
	b = binary.BigEndian.AppendUint64(b, m.SEID)
	b = binary.BigEndian.AppendUint64(b, m.QoS.Bandwidth)
	b = binary.BigEndian.AppendUint32(b, uint32(m.Response))
	b = binary.BigEndian.AppendUint32(b, m.QoS.Delay)
	b = binary.BigEndian.AppendUint32(b, m.QoS.Loss)
	b = binary.BigEndian.AppendUint32(b, m.QoS.BER)
	b = binary.BigEndian.AppendUint32(b, m.QoS.MaxGap)
	b = binary.BigEndian.AppendUint32(b, m.QoS.Timeout)
	b = binary.BigEndian.AppendUint16(b, m.ECE)
	return append(b, byte(m.Code), m.QoS.Availability, m.QoS.InOrder)
}

// AppendFlowReq appends a FLOW_REQ to b, as fa_alloc builds it: from the
// requester at address saddr and endpoint id seid, for the name hash (the
// layer's directory hash length), followed by the OAP header oap (may be
// empty).
func AppendFlowReq(b []byte, saddr, seid uint64, qs qos.Spec, hash, oap []byte) []byte {
	m := Msg{Code: FlowReq, SAddr: saddr, SEID: seid, QoS: qs}
	b = m.Append(b)
	b = append(b, hash...)
	return append(b, oap...)
}

// AppendFlowReply appends a FLOW_REPLY to b, as fa_alloc_resp builds it:
// to the requester's endpoint id reid, from the responder's seid, with
// response 0 or a negative error code, followed by the OAP header oap.
func AppendFlowReply(b []byte, reid, seid uint64, response int32, oap []byte) []byte {
	m := Msg{Code: FlowReply, REID: reid, SEID: seid, Response: response}
	b = m.Append(b)
	return append(b, oap...)
}

// AppendFlowUpdate appends a FLOW_UPDATE to b, as fa_update_remote builds
// it: to the peer's endpoint id reid, with congestion level ece.
func AppendFlowUpdate(b []byte, reid uint64, ece uint16) []byte {
	m := Msg{Code: FlowUpdate, REID: reid, ECE: ece}
	return m.Append(b)
}

// Parse parses a flow allocator message (a DT SDU for endpoint id 0).
// hashLen is the layer's directory hash length. It returns the message,
// the name hash (FLOW_REQ only, else nil) and the data after it: the OAP
// header of a FLOW_REQ or FLOW_REPLY, or whatever trails a FLOW_UPDATE
// (which the reference ignores). hash and data alias b.
func Parse(b []byte, hashLen int) (m Msg, hash, data []byte, err error) {
	switch {
	case len(b) < MsgLen:
		return Msg{}, nil, nil, ErrTruncated
	case len(b) > MaxMsgLen:
		return Msg{}, nil, nil, ErrTooLong
	}
	m = parseMsg(b)
	rest := b[MsgLen:]
	switch m.Code {
	case FlowReq:
		if hashLen < 0 || len(rest) < hashLen {
			return Msg{}, nil, nil, ErrTruncated
		}
		return m, rest[:hashLen], rest[hashLen:], nil
	case FlowReply, FlowUpdate:
		return m, nil, rest, nil
	}
	return Msg{}, nil, nil, ErrUnknownCode
}

func parseMsg(b []byte) Msg {
	_ = b[MsgLen-1]
	return Msg{
		Code:     Code(b[offCode]),
		SAddr:    binary.BigEndian.Uint64(b[offSAddr:]),
		REID:     binary.BigEndian.Uint64(b[offREID:]),
		SEID:     binary.BigEndian.Uint64(b[offSEID:]),
		Response: int32(binary.BigEndian.Uint32(b[offResponse:])),
		ECE:      binary.BigEndian.Uint16(b[offECE:]),
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
}

// MakeEID builds an endpoint id from 32 random bits and a flow slot (the
// reference's fd): (rnd << 32) | slot, as gen_eid does.
func MakeEID(rnd, slot uint32) uint64 { return uint64(rnd)<<32 | uint64(slot) }

// EIDSlot is the flow slot of an endpoint id: its low 32 bits. The caller
// must still compare the whole id with the slot's own (eid_to_fd).
func EIDSlot(eid uint64) uint32 { return uint32(eid) }
