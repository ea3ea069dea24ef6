package dir

import (
	"encoding/binary"
	"fmt"

	"github.com/o7s/ouroboros/stack/ipcp/pb"
	"google.golang.org/protobuf/proto"
)

// Code is a DHT message code (spec §8.7).
type Code uint32

// Message codes.
const (
	CodeStore        Code = 0
	CodeFindNodeReq  Code = 1
	CodeFindNodeRsp  Code = 2
	CodeFindValueReq Code = 3
	CodeFindValueRsp Code = 4
)

func (c Code) String() string {
	switch c {
	case CodeStore:
		return "STORE"
	case CodeFindNodeReq:
		return "FIND_NODE_REQ"
	case CodeFindNodeRsp:
		return "FIND_NODE_RSP"
	case CodeFindValueReq:
		return "FIND_VALUE_REQ"
	case CodeFindValueRsp:
		return "FIND_VALUE_RSP"
	}
	return fmt.Sprintf("Code(%d)", uint32(c))
}

// ValLen is the length of a value: an address as 8-byte big endian.
const ValLen = 8

func addrToVal(addr uint64) []byte { return binary.BigEndian.AppendUint64(nil, addr) }

func valToAddr(v []byte) uint64 { return binary.BigEndian.Uint64(v) }

func (d *DHT) srcMsg() *pb.DhtContactMsg {
	return &pb.DhtContactMsg{Id: d.id, Addr: proto.Uint64(d.cfg.Addr)}
}

// findReqMsg builds a FIND_NODE_REQ or FIND_VALUE_REQ.
func (d *DHT) findReqMsg(code Code, key []byte, cookie uint64) *pb.DhtMsg {
	return &pb.DhtMsg{
		Code: proto.Uint32(uint32(code)),
		Src:  d.srcMsg(),
		Find: &pb.DhtFindReqMsg{Cookie: proto.Uint64(cookie), Key: key},
	}
}

func contactMsgs(cs []*contact) []*pb.DhtContactMsg {
	out := make([]*pb.DhtContactMsg, 0, len(cs))
	for _, c := range cs {
		out = append(out, &pb.DhtContactMsg{Id: c.id, Addr: proto.Uint64(c.addr)})
	}
	return out
}

// findNodeRspMsg builds a FIND_NODE_RSP carrying cs.
func (d *DHT) findNodeRspMsg(key []byte, cookie uint64, cs []*contact) *pb.DhtMsg {
	return &pb.DhtMsg{
		Code: proto.Uint32(uint32(CodeFindNodeRsp)),
		Src:  d.srcMsg(),
		Node: &pb.DhtFindNodeRspMsg{
			Cookie:   proto.Uint64(cookie),
			Key:      key,
			Contacts: contactMsgs(cs),
		},
	}
}

// findValueRspMsg builds a FIND_VALUE_RSP carrying cs and vals.
func (d *DHT) findValueRspMsg(key []byte, cookie uint64, cs []*contact, vals [][]byte) *pb.DhtMsg {
	m := d.findNodeRspMsg(key, cookie, cs)
	m.Code = proto.Uint32(uint32(CodeFindValueRsp))
	m.Val = &pb.DhtFindValueRspMsg{Values: vals}
	return m
}

// storeMsg builds a STORE of val under key expiring at exp (UNIX s).
func (d *DHT) storeMsg(key, val []byte, exp uint32) *pb.DhtMsg {
	return &pb.DhtMsg{
		Code:  proto.Uint32(uint32(CodeStore)),
		Src:   d.srcMsg(),
		Store: &pb.DhtStoreMsg{Key: key, Val: val, Exp: proto.Uint32(exp)},
	}
}

// validate checks the structure of m (not the cookie of a response).
func (d *DHT) validate(m *pb.DhtMsg) error {
	src := m.GetSrc()
	if src == nil || len(src.GetId()) != d.cfg.IDLen || src.GetAddr() == 0 {
		return fmt.Errorf("%w: bad source", ErrInvalidMsg)
	}
	switch Code(m.GetCode()) {
	case CodeStore:
		s := m.GetStore()
		if s == nil || len(s.GetKey()) != d.cfg.IDLen || len(s.GetVal()) != ValLen {
			return fmt.Errorf("%w: bad store", ErrInvalidMsg)
		}
	case CodeFindNodeReq, CodeFindValueReq:
		if f := m.GetFind(); f == nil || len(f.GetKey()) != d.cfg.IDLen {
			return fmt.Errorf("%w: bad find request", ErrInvalidMsg)
		}
	case CodeFindNodeRsp, CodeFindValueRsp:
		n := m.GetNode()
		if n == nil || len(n.GetKey()) != d.cfg.IDLen {
			return fmt.Errorf("%w: bad response", ErrInvalidMsg)
		}
		for _, c := range n.GetContacts() {
			if len(c.GetId()) != d.cfg.IDLen || c.GetAddr() == 0 {
				return fmt.Errorf("%w: bad contact", ErrInvalidMsg)
			}
		}
		if Code(m.GetCode()) == CodeFindValueRsp && m.GetVal() != nil {
			for _, v := range m.GetVal().GetValues() {
				if len(v) != ValLen {
					return fmt.Errorf("%w: bad value", ErrInvalidMsg)
				}
			}
		}
	default:
		return fmt.Errorf("%w: code %d", ErrInvalidMsg, m.GetCode())
	}
	return nil
}
