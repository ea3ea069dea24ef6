package dir

// Reproduces the C reference's src/ipcpd/unicast/dir/tests/dht_test.c:
// the DHT runs with a packet sink instead of DT, key length 32, address
// 0x1234567890abcdef and default parameters.

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/o7s/ouroboros/stack/ipcp/pb"
	"google.golang.org/protobuf/proto"
)

const (
	testIDLen = 32
	testAddr  = 0x1234567890abcdef
)

// sink records every packet the DHT sends.
type sink struct {
	msgs []sunk
}

type sunk struct {
	dst uint64
	msg *pb.DhtMsg
}

func (s *sink) send(dst uint64, b []byte) error {
	m := new(pb.DhtMsg)
	if err := proto.Unmarshal(b, m); err != nil {
		return err
	}
	s.msgs = append(s.msgs, sunk{dst: dst, msg: m})
	return nil
}

// testClock is a manual clock.
type testClock struct{ now time.Time }

func (c *testClock) Now() time.Time { return c.now }

type fixture struct {
	d     *DHT
	sink  *sink
	clock *testClock
	rng   *rand.Rand
}

func newFixture(t testing.TB, mod func(*Config)) *fixture {
	t.Helper()
	f := &fixture{
		sink:  new(sink),
		clock: &testClock{now: time.Unix(1_700_000_000, 0)},
		rng:   rand.New(rand.NewPCG(1, 2)),
	}
	cfg := Config{
		IDLen: testIDLen,
		Addr:  testAddr,
		Clock: f.clock.Now,
		Rand:  rand.New(rand.NewPCG(3, 4)),
	}
	if mod != nil {
		mod(&cfg)
	}
	d, err := New(cfg, f.sink.send)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	f.d = d
	return f
}

func (f *fixture) id() []byte {
	b := make([]byte, testIDLen)
	for i := range b {
		b[i] = byte(f.rng.Uint32())
	}
	return b
}

func (f *fixture) addr() uint64 {
	for {
		if a := f.rng.Uint64(); a != 0 && a != testAddr {
			return a
		}
	}
}

// fill adds n random contacts (fill_dht_with_contacts).
func (f *fixture) fill(n int) {
	f.d.mu.Lock()
	defer f.d.mu.Unlock()
	for range n {
		f.d.updateContact(f.id(), f.addr(), f.clock.now)
	}
}

func TestInitFini(t *testing.T) {
	f := newFixture(t, nil)
	if got := len(f.d.ID()); got != testIDLen {
		t.Fatalf("id length = %d, want %d", got, testIDLen)
	}
	if f.d.cfg.Alpha != DefaultAlpha || f.d.cfg.K != DefaultK {
		t.Fatalf("alpha, k = %d, %d, want defaults", f.d.cfg.Alpha, f.d.cfg.K)
	}
	if _, err := New(Config{IDLen: testIDLen}, f.sink.send); err == nil {
		t.Fatal("New with address 0 succeeded")
	}
}

func TestStartStop(t *testing.T) {
	const peerAddr = 42
	f := newFixture(t, func(c *Config) { c.Peer = peerAddr })
	if err := f.d.Bootstrap(); err != nil {
		t.Fatalf("Bootstrap: %v", err)
	}
	if len(f.sink.msgs) != 1 {
		t.Fatalf("sent %d messages, want 1", len(f.sink.msgs))
	}
	m := f.sink.msgs[0]
	if m.dst != peerAddr || Code(m.msg.GetCode()) != CodeFindNodeReq ||
		m.msg.GetFind().GetCookie() != f.d.magic || !bytes.Equal(m.msg.GetFind().GetKey(), f.d.id) {
		t.Fatalf("bootstrap message = %v to %d", m.msg, m.dst)
	}
	if f.d.Interval() != 90*time.Second {
		t.Fatalf("Interval = %v, want 90s", f.d.Interval())
	}
	// A full round of tasks with no contacts retries the bootstrap.
	for i := 1; i <= 6; i++ {
		if err := f.d.Tick(f.clock.now.Add(time.Duration(i) * f.d.Interval())); err != nil {
			t.Fatalf("Tick: %v", err)
		}
	}
	if len(f.sink.msgs) != 2 {
		t.Fatalf("sent %d messages after a task round, want 2", len(f.sink.msgs))
	}
}

func TestValEntryCreateDestroy(t *testing.T) {
	f := newFixture(t, nil)
	e := newEntry(f.id())
	if !e.updateVal(addrToVal(1), f.clock.now.Add(time.Second), f.clock.now) {
		t.Fatal("updateVal refused a live value")
	}
	if e.expire(f.clock.now.Add(time.Second)) != true {
		t.Fatal("entry not empty after its value expired")
	}
}

func TestEntryCreateDestroy(t *testing.T) {
	f := newFixture(t, nil)
	key := f.id()
	e := newEntry(key)
	key[0]++
	if bytes.Equal(e.key, key) || len(e.vals)+len(e.lvals) != 0 {
		t.Fatal("entry aliases its key or starts non-empty")
	}
}

func testEntryUpdateGet(t *testing.T, local bool) {
	f := newFixture(t, nil)
	now := f.clock.now
	e := newEntry(f.id())
	update, get := e.updateVal, e.getVal
	if local {
		update, get = e.updateLval, e.getLval
	}
	v1, v2 := addrToVal(f.addr()), addrToVal(f.addr())
	if get(v1) != nil {
		t.Fatal("get on empty entry returned a value")
	}
	if update(v1, now.Add(-time.Second), now) {
		t.Fatal("update accepted an expired value")
	}
	if !update(v1, now.Add(15*time.Second), now) {
		t.Fatal("update refused a live value")
	}
	if get(v2) != nil {
		t.Fatal("get returned a value never stored")
	}
	v := get(v1)
	if v == nil || !bytes.Equal(v.v, v1) || !v.exp.Equal(now.Add(15*time.Second)) {
		t.Fatalf("get = %+v, want %x expiring in 15s", v, v1)
	}
	update(v1, now.Add(5*time.Second), now)
	if !v.exp.Equal(now.Add(15 * time.Second)) {
		t.Fatal("an earlier expiry shortened the value")
	}
	update(v1, now.Add(30*time.Second), now)
	if !v.exp.Equal(now.Add(30*time.Second)) || get(v1) != v {
		t.Fatal("a later expiry did not extend the same value")
	}
}

func TestEntryUpdateGetVal(t *testing.T)  { testEntryUpdateGet(t, false) }
func TestEntryUpdateGetLval(t *testing.T) { testEntryUpdateGet(t, true) }

func TestContactCreateDestroy(t *testing.T) {
	f := newFixture(t, nil)
	id := f.id()
	c := newContact(id, 7, f.clock.now)
	id[0]++
	if bytes.Equal(c.id, id) || c.addr != 7 || !c.tSeen.Equal(f.clock.now) {
		t.Fatalf("contact = %+v", c)
	}
}

func TestUpdateBucket(t *testing.T) {
	f := newFixture(t, nil)
	f.fill(1000)
	d := f.d
	n := 0
	d.walk(func(b *bucket) {
		if len(b.contacts) > d.cfg.K || len(b.alts) > d.cfg.K {
			t.Fatalf("bucket at depth %d holds %d contacts, %d alternates", b.depth, len(b.contacts), len(b.alts))
		}
		for _, c := range append(b.contacts, b.alts...) {
			if d.where[c.addr] != b || d.leaf(c.id) != b {
				t.Fatalf("contact %d indexed in the wrong bucket", c.addr)
			}
			n++
		}
	})
	if n != len(d.where) || d.root.children == nil {
		t.Fatalf("%d contacts, %d indexed, root split %v", n, len(d.where), d.root.children != nil)
	}
	// Re-adding a known address replaces it.
	var c *contact
	d.walk(func(b *bucket) {
		if c == nil && len(b.contacts) > 0 {
			c = b.contacts[0]
		}
	})
	before := d.numContacts()
	f.d.updateContact(c.id, c.addr, f.clock.now.Add(time.Second))
	if d.numContacts() != before {
		t.Fatalf("re-adding a contact changed the count %d → %d", before, d.numContacts())
	}
}

func TestContactList(t *testing.T) {
	f := newFixture(t, nil)
	f.fill(5)
	if got := len(f.d.contactList(f.d.id, f.d.cfg.K)); got != 5 {
		t.Fatalf("contact list length = %d, want 5", got)
	}
	f.fill(100)
	cs := f.d.contactList(f.d.id, 100)
	if len(cs) != f.d.cfg.K {
		t.Fatalf("contact list length = %d, want k = %d", len(cs), f.d.cfg.K)
	}
	for i := 1; i < len(cs); i++ {
		if distance(cs[i-1].id, f.d.id) > distance(cs[i].id, f.d.id) {
			t.Fatal("contact list is not closest-first")
		}
	}
}

func TestGetValues(t *testing.T) {
	f := newFixture(t, nil)
	now := f.clock.now
	fill := func(n int) {
		for range n {
			f.d.store(f.d.id, addrToVal(f.addr()), now.Add(time.Hour), now)
		}
	}
	fill(3)
	if got := len(f.d.retrieve(f.d.id, now)); got != 3 {
		t.Fatalf("retrieved %d values, want 3", got)
	}
	fill(20)
	if got := len(f.d.retrieve(f.d.id, now)); got != maxVals {
		t.Fatalf("retrieved %d values, want %d", got, maxVals)
	}
}

// TestNewestValueFirst: the values of a key come newest first (the one
// that expires last; of two that expire together, the one stored last),
// so that a name registered again under a new address is answered with
// it, even behind more than maxVals older values.
func TestNewestValueFirst(t *testing.T) {
	f := newFixture(t, nil)
	now := f.clock.now
	key := f.id()
	for i := range maxVals + 2 {
		f.d.store(key, addrToVal(uint64(100+i)), now.Add(time.Hour+time.Duration(i)*time.Second), now)
	}
	newest := uint64(7)
	f.d.store(key, addrToVal(newest), now.Add(2*time.Hour), now)
	vals := f.d.retrieve(key, now)
	if len(vals) != maxVals || valToAddr(vals[0]) != newest || valToAddr(vals[1]) != uint64(100+maxVals+1) {
		t.Fatalf("retrieved %d values, first %x then %x; want %d, %x first, then the next newest", len(vals), valToAddr(vals[0]), valToAddr(vals[1]), maxVals, newest)
	}
	if a, err := f.d.Query(key); err != nil || a != newest {
		t.Errorf("Query = %x, %v; want %x", a, err, newest)
	}
	tie := uint64(8)
	f.d.store(key, addrToVal(tie), now.Add(2*time.Hour), now)
	if a, _ := f.d.Query(key); a != tie {
		t.Errorf("Query = %x; want %x, stored last of two that expire together", a, tie)
	}
}
