package dir

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/o7s/ouroboros/stack/ipcp/pb"
	"google.golang.org/protobuf/proto"
)

// fuzzPeer is the bootstrap peer of the fuzzed DHT.
const fuzzPeer = 42

// fuzzFixture is a DHT with something for a message to act on: contacts,
// the bootstrap lookup (answered with the magic cookie), a FIND_VALUE
// lookup for the returned key and the publication of a registered name
// (its probes). Its random sources are seeded, so every call gives the
// same ids and cookies.
func fuzzFixture(tb testing.TB) (*fixture, []byte) {
	f := newFixture(tb, func(c *Config) { c.Peer = fuzzPeer })
	if err := f.d.Bootstrap(); err != nil {
		tb.Fatal(err)
	}
	f.fill(10)
	key := f.id()
	if _, err := f.d.Query(key); !errors.Is(err, ErrPending) {
		tb.Fatalf("Query = %v, want ErrPending", err)
	}
	if err := f.d.Reg(f.id()); err != nil {
		tb.Fatal(err)
	}
	return f, key
}

// The dht_msg goldens of stack/ipcp/pb (dhtStoreWire, dhtFindReqWire,
// dhtFindValueRspWire): their ids are 4 bytes, so they parse but do not
// validate.
var pbGoldens = []string{
	"080012080a04deadbe01100a1a140a02aabb120800000000000000011880e2cfaa06",
	"080312080a04deadbe01100a220f08ffffffffffffffffff011202aabb",
	"080412090a04deadbe0210ac022a1b08071202aabb1a080a04deadbe01100a1a090a04deadbe0210ac02" +
		"32140a0800000000000000010a08000000000000012c",
}

// FuzzHandle feeds arbitrary packets to a DHT. It must never panic; a
// packet that parses as a dht_msg re-encodes to bytes that parse to the
// same message, which validates as the original did; Handle refuses what
// does not parse or validate; and whatever the DHT sends in answer, it
// would accept itself.
func FuzzHandle(f *testing.F) {
	fx, key := fuzzFixture(f)
	for _, c := range msgCases(fx, fx.id(), 0xc00c1e) {
		f.Add(peerMsg(c.msg, newContact(fx.id(), fx.addr(), fx.clock.now)))
	}
	// Answers that match the state, so that the fuzzer starts from
	// responses the DHT takes: the bootstrap peer's, with the magic cookie,
	// the first asked contact's to the FIND_VALUE lookup, and the first
	// probed contact's to the publication, holding the value.
	answers := [][]byte{peerMsg(fx.d.findNodeRspMsg(fx.d.id, fx.d.magic, fx.contacts(3)), newContact(fx.id(), fuzzPeer, fx.clock.now))}
	lookup, probe := false, false
	for _, s := range fx.sink.msgs {
		if Code(s.msg.GetCode()) != CodeFindValueReq {
			continue
		}
		k, c := s.msg.GetFind().GetKey(), fx.d.contactAt(s.dst)
		vals := fx.vals(2)
		switch {
		case bytes.Equal(k, key) && !lookup:
			lookup = true
		case !bytes.Equal(k, key) && !probe:
			probe = true
			vals = append(vals, addrToVal(testAddr))
		default:
			continue
		}
		answers = append(answers, peerMsg(fx.d.findValueRspMsg(k, s.msg.GetFind().GetCookie(), fx.contacts(2), vals), c))
	}
	if len(answers) != 3 {
		f.Fatal("no FIND_VALUE_REQ to answer")
	}
	for _, b := range answers {
		if fresh, _ := fuzzFixture(f); fresh.d.Handle(fuzzPeer, b) != nil {
			f.Fatalf("a fresh fixture refuses the answer %x", b)
		}
		f.Add(b)
	}
	for _, h := range pbGoldens {
		b, err := hex.DecodeString(h)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		fx, _ := fuzzFixture(t)
		fx.sink.msgs = nil
		var m pb.DhtMsg
		perr := proto.Unmarshal(b, &m)
		verr := perr
		if perr == nil {
			verr = fx.d.validate(&m)
			again, err := proto.Marshal(&m)
			if err != nil {
				t.Fatalf("a parsed message does not marshal: %v", err)
			}
			var m2 pb.DhtMsg
			if err := proto.Unmarshal(again, &m2); err != nil || !proto.Equal(&m, &m2) {
				t.Fatalf("round trip %v -> %v (%v)", &m, &m2, err)
			}
			if err := fx.d.validate(&m2); (err == nil) != (verr == nil) {
				t.Fatalf("validate %v, after the round trip %v", verr, err)
			}
		}
		before := fx.d.Stats()
		err := fx.d.Handle(fuzzPeer, b)
		if verr != nil && !errors.Is(err, ErrInvalidMsg) {
			t.Fatalf("Handle of an invalid message (%v) = %v, want ErrInvalidMsg", verr, err)
		}
		st := fx.d.Stats()
		if got := st.Received - before.Received; got != map[bool]uint64{true: 1, false: 0}[perr == nil] {
			t.Fatalf("Received grew by %d for a message that parsed: %v", got, perr == nil)
		}
		if st.SendErrs != before.SendErrs {
			t.Fatal("the DHT sent a packet that does not parse")
		}
		for _, s := range fx.sink.msgs {
			if err := fx.d.validate(s.msg); err != nil {
				t.Fatalf("the DHT sent %v, which it refuses: %v", s.msg, err)
			}
		}
	})
}
