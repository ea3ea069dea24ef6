package dir

import (
	"errors"
	"testing"
	"time"

	"github.com/o7s/ouroboros/stack/ipcp/pb"
	"google.golang.org/protobuf/proto"
)

func (f *fixture) contacts(n int) []*contact {
	cs := make([]*contact, n)
	for i := range cs {
		cs[i] = newContact(f.id(), f.addr(), f.clock.now)
	}
	return cs
}

func (f *fixture) vals(n int) [][]byte {
	vs := make([][]byte, n)
	for i := range vs {
		vs[i] = addrToVal(f.addr())
	}
	return vs
}

// msgCase is a message of one type and shape, as the DHT builds it.
type msgCase struct {
	name     string
	msg      *pb.DhtMsg
	code     Code
	contacts int
	vals     int
}

// msgCases builds every message type for key, with cookie.
func msgCases(f *fixture, key []byte, cookie uint64) []msgCase {
	d := f.d
	return []msgCase{
		{"find node req", d.findReqMsg(CodeFindNodeReq, key, cookie), CodeFindNodeReq, 0, 0},
		{"find node rsp", d.findNodeRspMsg(key, cookie, nil), CodeFindNodeRsp, 0, 0},
		{"find node rsp contacts", d.findNodeRspMsg(key, cookie, f.contacts(8)), CodeFindNodeRsp, 8, 0},
		{"find value req", d.findReqMsg(CodeFindValueReq, key, cookie), CodeFindValueReq, 0, 0},
		{"find value rsp", d.findValueRspMsg(key, cookie, nil, nil), CodeFindValueRsp, 0, 0},
		{"find value rsp contacts", d.findValueRspMsg(key, cookie, f.contacts(8), nil), CodeFindValueRsp, 8, 0},
		{"find value rsp values", d.findValueRspMsg(key, cookie, nil, f.vals(8)), CodeFindValueRsp, 0, 8},
		{"store", d.storeMsg(key, addrToVal(1), uint32(f.clock.now.Unix())+10), CodeStore, 0, 0},
	}
}

// TestMessages builds, packs, unpacks and validates every message type.
func TestMessages(t *testing.T) {
	f := newFixture(t, nil)
	d, key, cookie := f.d, f.id(), uint64(0xc00c1e)
	for _, tt := range msgCases(f, key, cookie) {
		t.Run(tt.name, func(t *testing.T) {
			b, err := proto.Marshal(tt.msg)
			if err != nil || len(b) == 0 {
				t.Fatalf("Marshal: %d bytes, %v", len(b), err)
			}
			var m pb.DhtMsg
			if err := proto.Unmarshal(b, &m); err != nil {
				t.Fatalf("Unmarshal: %v", err)
			}
			if Code(m.GetCode()) != tt.code {
				t.Fatalf("code = %v, want %v", Code(m.GetCode()), tt.code)
			}
			if err := d.validate(&m); err != nil {
				t.Fatalf("validate: %v", err)
			}
			if n := len(m.GetNode().GetContacts()); n != tt.contacts {
				t.Fatalf("%d contacts, want %d", n, tt.contacts)
			}
			if n := len(m.GetVal().GetValues()); n != tt.vals {
				t.Fatalf("%d values, want %d", n, tt.vals)
			}
		})
	}
	bad := d.storeMsg(key[1:], addrToVal(1), 0)
	if err := d.validate(bad); !errors.Is(err, ErrInvalidMsg) {
		t.Fatalf("validate(short key) = %v, want ErrInvalidMsg", err)
	}
	noSrc := d.findReqMsg(CodeFindNodeReq, key, cookie)
	noSrc.Src.Addr = proto.Uint64(0)
	if err := d.validate(noSrc); !errors.Is(err, ErrInvalidMsg) {
		t.Fatalf("validate(src addr 0) = %v, want ErrInvalidMsg", err)
	}
}

// peerMsg turns a message built by d into one from the contact c.
func peerMsg(m *pb.DhtMsg, c *contact) []byte {
	m.Src = &pb.DhtContactMsg{Id: c.id, Addr: proto.Uint64(c.addr)}
	b, err := proto.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}

func TestQueryContactsReqRsp(t *testing.T) {
	f := newFixture(t, nil)
	f.fill(1)
	key := f.id()
	f.d.mu.Lock()
	err := f.d.queryContacts(key, f.clock.now)
	f.d.unlock()
	if err != nil || len(f.sink.msgs) != 1 {
		t.Fatalf("queryContacts: %v, %d messages", err, len(f.sink.msgs))
	}
	req := f.sink.msgs[0]
	if err := f.d.validate(req.msg); err != nil || Code(req.msg.GetCode()) != CodeFindNodeReq {
		t.Fatalf("request %v: %v", req.msg, err)
	}
	from := f.d.where[req.dst].contacts[0]
	rsp := f.d.findNodeRspMsg(key, req.msg.GetFind().GetCookie(), f.contacts(2))
	if err := f.d.Handle(from.addr, peerMsg(rsp, from)); err != nil {
		t.Fatalf("Handle(response): %v", err)
	}
	if n := f.d.numContacts(); n != 3 {
		t.Fatalf("%d contacts after the response, want 3", n)
	}
	if len(f.sink.msgs) != 3 {
		t.Fatalf("%d messages, want the 2 returned contacts asked", len(f.sink.msgs))
	}
	// A response with a wrong cookie is refused.
	rsp = f.d.findNodeRspMsg(key, 1, f.contacts(2))
	if err := f.d.Handle(from.addr, peerMsg(rsp, from)); !errors.Is(err, ErrInvalidMsg) {
		t.Fatalf("Handle(bad cookie) = %v, want ErrInvalidMsg", err)
	}
}

func TestReqCreateDestroy(t *testing.T) {
	f := newFixture(t, nil)
	l := newLookup(f.d.id, CodeFindValueReq)
	if l.done || len(l.peers) != 0 || &l.key[0] == &f.d.id[0] {
		t.Fatalf("lookup = %+v", l)
	}
}

func TestRegUnreg(t *testing.T) {
	f := newFixture(t, nil)
	if err := f.d.Reg(f.d.id); err != nil {
		t.Fatalf("Reg: %v", err)
	}
	if len(f.sink.msgs) != 0 {
		t.Fatalf("Reg without contacts sent %d messages", len(f.sink.msgs))
	}
	if err := f.d.Unreg(f.d.id); err != nil {
		t.Fatalf("Unreg: %v", err)
	}
	if len(f.d.entries) != 0 {
		t.Fatal("Unreg left the entry")
	}
}

// TestRegUnregContacts: Reg sends a STORE and a FIND_VALUE_REQ (the
// probe that shows the STORE held) to each of the k closest contacts, all
// four here; the reference sends alpha STOREs only (pub.go).
func TestRegUnregContacts(t *testing.T) {
	f := newFixture(t, nil)
	f.fill(4)
	if err := f.d.Reg(f.d.id); err != nil {
		t.Fatalf("Reg: %v", err)
	}
	if len(f.sink.msgs) != 2*4 {
		t.Fatalf("Reg sent %d messages, want a STORE and a probe to each of 4 contacts", len(f.sink.msgs))
	}
	for i, m := range f.sink.msgs {
		if err := f.d.validate(m.msg); err != nil {
			t.Fatalf("validate: %v", err)
		}
		if i%2 == 1 {
			if Code(m.msg.GetCode()) != CodeFindValueReq || m.dst != f.sink.msgs[i-1].dst {
				t.Fatalf("message %d = %v to %d, want FIND_VALUE_REQ after the STORE", i, Code(m.msg.GetCode()), m.dst)
			}
			continue
		}
		if Code(m.msg.GetCode()) != CodeStore {
			t.Fatalf("code = %v, want STORE", Code(m.msg.GetCode()))
		}
		if valToAddr(m.msg.GetStore().GetVal()) != testAddr {
			t.Fatal("STORE does not carry the own address")
		}
	}
	if err := f.d.Unreg(f.d.id); err != nil {
		t.Fatalf("Unreg: %v", err)
	}
	if len(f.d.pubs) != 0 {
		t.Fatal("Unreg left the publication")
	}
}

func TestRegQueryLocal(t *testing.T) {
	f := newFixture(t, nil)
	if err := f.d.Reg(f.d.id); err != nil {
		t.Fatalf("Reg: %v", err)
	}
	if a, _ := f.d.Query(f.d.id); a == testAddr {
		t.Fatal("Query returned the own address")
	}
	f.d.store(f.d.id, addrToVal(1234321), f.clock.now.Add(5*time.Second), f.clock.now)
	if a, err := f.d.Query(f.d.id); a != 1234321 || err != nil {
		t.Fatalf("Query = %d, %v, want 1234321", a, err)
	}
	if err := f.d.Unreg(f.d.id); err != nil {
		t.Fatalf("Unreg: %v", err)
	}
}

func TestQueryNoContacts(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Peer = 99 })
	if a, err := f.d.Query(f.id()); a != 0 || !errors.Is(err, ErrNotFound) {
		t.Fatalf("Query = %d, %v, want 0, ErrNotFound", a, err)
	}
	if len(f.sink.msgs) != 0 {
		t.Fatalf("Query without contacts sent %d messages", len(f.sink.msgs))
	}
}

func TestQueryContacts(t *testing.T) {
	var got []uint64
	f := newFixture(t, func(c *Config) {
		c.OnResult = func(_ []byte, a uint64) { got = append(got, a) }
	})
	f.fill(10)
	key := f.id()
	if a, err := f.d.Query(key); a != 0 || !errors.Is(err, ErrPending) {
		t.Fatalf("Query = %d, %v, want 0, ErrPending", a, err)
	}
	if len(f.sink.msgs) != f.d.cfg.Alpha {
		t.Fatalf("Query sent %d messages, want alpha = %d", len(f.sink.msgs), f.d.cfg.Alpha)
	}
	for _, m := range f.sink.msgs {
		if Code(m.msg.GetCode()) != CodeFindValueReq || f.d.validate(m.msg) != nil {
			t.Fatalf("request %v", m.msg)
		}
	}
	// The first peer answers with the value.
	req := f.sink.msgs[0]
	from := f.d.where[req.dst]
	var c *contact
	for _, x := range from.contacts {
		if x.addr == req.dst {
			c = x
		}
	}
	rsp := f.d.findValueRspMsg(key, req.msg.GetFind().GetCookie(), nil, [][]byte{addrToVal(testAddr), addrToVal(777)})
	if err := f.d.Handle(c.addr, peerMsg(rsp, c)); err != nil {
		t.Fatalf("Handle: %v", err)
	}
	if len(got) != 1 || got[0] != 777 {
		t.Fatalf("OnResult got %v, want [777]", got)
	}
	if a, err := f.d.Query(key); a != 777 || err != nil {
		t.Fatalf("Query after response = %d, %v, want 777", a, err)
	}
	// The cache expires with its lookup.
	f.clock.now = f.clock.now.Add(tCache + time.Second)
	for i := range 5 {
		f.d.Tick(f.clock.now.Add(time.Duration(i+1) * f.d.Interval()))
	}
	if len(f.d.lookups) != 0 {
		t.Fatalf("%d lookups left after expiry", len(f.d.lookups))
	}
}

func TestHandleRequests(t *testing.T) {
	f := newFixture(t, nil)
	f.fill(20)
	key := f.id()
	now := f.clock.now
	f.d.store(key, addrToVal(55), now.Add(time.Hour), now)
	from := newContact(f.id(), f.addr(), now)
	for _, code := range []Code{CodeFindNodeReq, CodeFindValueReq} {
		f.sink.msgs = nil
		if err := f.d.Handle(from.addr, peerMsg(f.d.findReqMsg(code, key, 9), from)); err != nil {
			t.Fatalf("Handle(%v): %v", code, err)
		}
		if len(f.sink.msgs) != 1 || f.sink.msgs[0].dst != from.addr {
			t.Fatalf("%v: %d responses", code, len(f.sink.msgs))
		}
		m := f.sink.msgs[0].msg
		if Code(m.GetCode()) != code+1 || m.GetNode().GetCookie() != 9 || len(m.GetNode().GetContacts()) != f.d.cfg.K {
			t.Fatalf("%v: response %v", code, m)
		}
		if code == CodeFindValueReq && valToAddr(m.GetVal().GetValues()[0]) != 55 {
			t.Fatalf("FIND_VALUE_RSP values = %x", m.GetVal().GetValues())
		}
	}
	// STORE from a peer, then expiry through Tick.
	st := f.d.storeMsg(key, addrToVal(66), uint32(now.Unix())+100)
	if err := f.d.Handle(from.addr, peerMsg(st, from)); err != nil {
		t.Fatalf("Handle(STORE): %v", err)
	}
	if n := len(f.d.retrieve(key, now)); n != 2 {
		t.Fatalf("%d values after STORE, want 2", n)
	}
	f.sink.msgs = nil
	later := now.Add(2 * time.Hour)
	for i := range 5 {
		f.d.Tick(later.Add(time.Duration(i) * f.d.Interval()))
	}
	if len(f.d.entries) != 0 {
		t.Fatal("expired values left in the store")
	}
}

func TestReplicate(t *testing.T) {
	f := newFixture(t, nil)
	f.fill(10)
	key, now := f.id(), f.clock.now
	exp := now.Add(10 * time.Hour)
	f.d.store(key, addrToVal(55), exp, now)
	f.d.mu.Lock()
	f.d.replicate(now.Add(f.d.cfg.TReplicate))
	f.d.unlock()
	if len(f.sink.msgs) != f.d.cfg.Alpha {
		t.Fatalf("replication sent %d STOREs, want %d", len(f.sink.msgs), f.d.cfg.Alpha)
	}
	if e := f.sink.msgs[0].msg.GetStore().GetExp(); int64(e) != exp.Unix() {
		t.Fatalf("replicated expiry %d, want %d", e, exp.Unix())
	}
}
