package dir

import (
	"bytes"
	"slices"
	"testing"
	"time"
)

// closest returns the addresses of the k nodes of s whose ids are closest
// to key, node skip left out.
func (s *simNet) closest(key []byte, k int, skip uint64) []uint64 {
	var as []uint64
	for a := range s.nodes {
		if a != skip {
			as = append(as, a)
		}
	}
	slices.SortFunc(as, func(x, y uint64) int {
		dx, dy := distance(s.nodes[x].id, key), distance(s.nodes[y].id, key)
		switch {
		case dx < dy:
			return -1
		case dx > dy:
			return 1
		}
		return 0
	})
	return as[:min(k, len(as))]
}

// holds reports whether node a stores addr under key.
func (s *simNet) holds(a uint64, key []byte, addr uint64) bool {
	d := s.nodes[a]
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.ContainsFunc(d.retrieve(key, s.clock.now), func(v []byte) bool { return valToAddr(v) == addr })
}

// missing returns the nodes of want that do not hold addr under key.
func (s *simNet) missing(want []uint64, key []byte, addr uint64) []uint64 {
	var out []uint64
	for _, a := range want {
		if !s.holds(a, key, addr) {
			out = append(out, a)
		}
	}
	return out
}

// TestNear: near agrees with contactList.
func TestNear(t *testing.T) {
	f := newFixture(t, nil)
	for _, n := range []int{3, 30, 200} {
		f.fill(n)
		for range 20 {
			key := f.id()
			cs := f.d.contactList(key, f.d.cfg.K)
			for a := range f.d.where {
				in := slices.ContainsFunc(cs, func(c *contact) bool { return c.addr == a })
				if got := f.d.near(key, a); got != in {
					t.Fatalf("%d contacts: near(%d) = %v, in the contact list %v", n, a, got, in)
				}
			}
		}
	}
}

// TestPublishBeforeContacts: a name registered before the DHT has any
// contact is stored nowhere; once the node bootstraps, it is stored at the
// k nodes closest to it in the whole network, and the publication
// completes.
func TestPublishBeforeContacts(t *testing.T) {
	const n = 40
	s := newSimNet(t, n, 11)
	const z = n + 1
	d := s.add(t, z, 1, nil)
	key := nameKey(1)
	if err := d.Reg(key); err != nil {
		t.Fatal(err)
	}
	if len(s.pending) != 0 {
		t.Fatalf("Reg without contacts sent %d messages", len(s.pending))
	}
	if err := d.Bootstrap(); err != nil {
		t.Fatal(err)
	}
	s.run(t, 50)
	want := s.closest(key, d.cfg.K, z)
	if m := s.missing(want, key, z); len(m) != 0 {
		t.Fatalf("once bootstrapped, the k closest %v: %v do not hold the name", want, m)
	}
	st := d.Stats().Pub
	if st.Complete != 1 || d.pubs[string(key)].next != (time.Time{}) {
		t.Fatalf("publication not complete: %+v", st)
	}
	t.Logf("stored at the %d closest of %d nodes with %d STORE+probe pairs, %d held", len(want), n, st.Probes, st.Held)
	// Complete: ticks send nothing more for it.
	s.tick(t, 2*time.Minute)
	if after := d.Stats().Pub; after != st {
		t.Fatalf("publication went on after it completed: %+v, then %+v", st, after)
	}
}

// TestPublishNewCloserNode: a node that joins with an id closer to a
// published key than any other is given the value, by a holder or by the
// publisher, as soon as it is known to them.
func TestPublishNewCloserNode(t *testing.T) {
	const n = 40
	s := newSimNet(t, n, 12)
	key := nameKey(7)
	const owner = 5
	if err := s.nodes[owner].Reg(key); err != nil {
		t.Fatal(err)
	}
	s.run(t, 50)
	if m := s.missing(s.closest(key, DefaultK, owner), key, owner); len(m) != 0 {
		t.Fatalf("%v do not hold the name", m)
	}
	id := bytes.Clone(key)
	id[7] ^= 1 // closer to the key than any random id, but for the first 56 bits
	const y = n + 1
	if err := s.add(t, y, 30, id).Bootstrap(); err != nil {
		t.Fatal(err)
	}
	s.run(t, 50)
	if !s.holds(y, key, owner) {
		t.Fatal("the new node closest to the key does not hold it")
	}
	// And a lookup from anywhere finds it.
	for a := uint64(1); a <= n; a++ {
		if a == owner {
			continue
		}
		if got, err := s.nodes[a].Query(key); err == nil {
			s.found[a][string(key)] = got
		}
	}
	s.run(t, 50)
	for a := uint64(1); a <= n; a++ {
		if got := s.found[a][string(key)]; a != owner && got != owner {
			t.Fatalf("node %d resolved the key to %d, want %d", a, got, owner)
		}
	}
}

// TestPublishAfterJoin is the case in the DHT alone: the node that
// joins a 100-node DHT last registers a name as soon as it has joined, with
// no lookup of its own first; every other node then finds it at once.
func TestPublishAfterJoin(t *testing.T) {
	const n = 100
	s := newSimNet(t, n, 13)
	key := nameKey(1000)
	if err := s.nodes[n].Reg(key); err != nil {
		t.Fatal(err)
	}
	s.run(t, 50)
	st := s.nodes[n].Stats()
	for a := uint64(1); a < n; a++ {
		got, err := s.nodes[a].Query(key)
		if err == nil {
			s.found[a][string(key)] = got
		}
	}
	s.run(t, 50)
	for a := uint64(1); a < n; a++ {
		if got := s.found[a][string(key)]; got != n {
			t.Errorf("node %d resolved the key to %d, want %d", a, got, n)
		}
	}
	if st.Pub.Complete != 1 {
		t.Errorf("publication not complete: %+v", st.Pub)
	}
	t.Logf("publisher sent %d messages: %d STORE+probe pairs, %d answered with the value", st.Sent, st.Pub.Probes, st.Pub.Held)
}

// answer makes the contact that m was sent to answer the probe m, with
// the own address among its values if held.
func (f *fixture) answer(t *testing.T, m sunk, held bool) {
	t.Helper()
	c := f.d.contactAt(m.dst)
	var vals [][]byte
	if held {
		vals = [][]byte{addrToVal(testAddr)}
	}
	rsp := f.d.findValueRspMsg(m.msg.GetFind().GetKey(), m.msg.GetFind().GetCookie(), nil, vals)
	if err := f.d.Handle(c.addr, peerMsg(rsp, c)); err != nil {
		t.Fatalf("Handle: %v", err)
	}
}

// probes returns the FIND_VALUE_REQs in msgs, by destination.
func probes(msgs []sunk) map[uint64]sunk {
	out := make(map[uint64]sunk)
	for _, m := range msgs {
		if Code(m.msg.GetCode()) == CodeFindValueReq {
			out[m.dst] = m
		}
	}
	return out
}

// TestPublishBackoff: rounds to contacts that never answer come after
// waits of 1, 2, 4 ... s up to the cap (60 s), and stop after the round
// that follows a wait of the cap; each round goes to all k again.
func TestPublishBackoff(t *testing.T) {
	f := newFixture(t, nil)
	f.fill(20)
	key := f.id()
	start := f.clock.now
	if err := f.d.Reg(key); err != nil {
		t.Fatal(err)
	}
	var rounds []time.Duration
	for s := 0; s <= 600; s++ {
		now := start.Add(time.Duration(s) * time.Second)
		f.clock.now = now
		if s > 0 {
			f.d.Tick(now)
		}
		if len(f.sink.msgs) == 0 {
			continue
		}
		rounds = append(rounds, now.Sub(start))
		if got := len(probes(f.sink.msgs)); got != f.d.cfg.K || len(f.sink.msgs) != 2*f.d.cfg.K {
			t.Fatalf("round at %v: %d messages, %d probes; want a STORE and a probe to each of k = %d",
				now.Sub(start), len(f.sink.msgs), got, f.d.cfg.K)
		}
		f.sink.msgs = nil
	}
	want := []time.Duration{0, 1, 3, 7, 15, 31, 63, 123}
	for i := range want {
		want[i] *= time.Second
	}
	if !slices.Equal(rounds, want) {
		t.Fatalf("rounds at %v, want %v", rounds, want)
	}
	if st := f.d.Stats().Pub; st.GaveUp != 1 || st.Complete != 0 || st.Rounds != uint64(len(want)) {
		t.Fatalf("stats %+v, want 8 rounds and given up", st)
	}
}

// TestPublishComplete: rounds go only to the contacts that have not
// answered with the value, and stop as soon as all k have.
func TestPublishComplete(t *testing.T) {
	f := newFixture(t, nil)
	f.fill(20)
	key := f.id()
	if err := f.d.Reg(key); err != nil {
		t.Fatal(err)
	}
	first := probes(f.sink.msgs)
	var late sunk
	for _, m := range first {
		if late.msg == nil {
			late = m // answers without the value: its STORE was lost
			f.answer(t, m, false)
			continue
		}
		f.answer(t, m, true)
	}
	f.sink.msgs = nil
	f.clock.now = f.clock.now.Add(time.Second)
	f.d.Tick(f.clock.now)
	again := probes(f.sink.msgs)
	if len(again) != 1 || len(f.sink.msgs) != 2 || again[late.dst].msg == nil {
		t.Fatalf("second round: %d messages to %v, want a STORE and a probe to %d only", len(f.sink.msgs), again, late.dst)
	}
	f.answer(t, again[late.dst], true)
	if st := f.d.Stats().Pub; st.Complete != 1 || st.Held != uint64(f.d.cfg.K) {
		t.Fatalf("stats %+v, want complete with k held", st)
	}
	// A stale answer (the first probe's cookie) is refused.
	c := f.d.contactAt(late.dst)
	rsp := f.d.findValueRspMsg(key, late.msg.GetFind().GetCookie(), nil, nil)
	if err := f.d.Handle(c.addr, peerMsg(rsp, c)); err == nil {
		t.Fatal("an answer with an old probe's cookie was taken")
	}
	f.sink.msgs = nil
	for range 200 {
		f.clock.now = f.clock.now.Add(time.Second)
		f.d.Tick(f.clock.now)
	}
	if len(f.sink.msgs) != 0 {
		t.Fatalf("%d messages after completion", len(f.sink.msgs))
	}
	// Republish (a neighbour lost) forgets the answers: all k again.
	f.d.Republish()
	f.clock.now = f.clock.now.Add(time.Second)
	f.d.Tick(f.clock.now)
	if got := len(probes(f.sink.msgs)); got != f.d.cfg.K {
		t.Fatalf("after Republish: %d probes, want k = %d", got, f.d.cfg.K)
	}
}

// TestPublishNewContact: a contact that enters the k closest of a
// published key is sent a STORE and a probe at once, and the rounds
// restart from a wait of 1 s; one that does not enter them is sent
// nothing.
func TestPublishNewContact(t *testing.T) {
	f := newFixture(t, nil)
	f.fill(20)
	key := f.id()
	if err := f.d.Reg(key); err != nil {
		t.Fatal(err)
	}
	for _, m := range probes(f.sink.msgs) {
		f.answer(t, m, true)
	}
	if st := f.d.Stats().Pub; st.Complete != 1 {
		t.Fatalf("stats %+v, want complete", st)
	}
	f.sink.msgs = nil
	far := bytes.Clone(key)
	far[0] ^= 0x80
	f.d.mu.Lock()
	f.d.updateContact(far, 1001, f.clock.now)
	f.d.unlock()
	if len(f.sink.msgs) != 0 {
		t.Fatalf("a contact far from the key was sent %d messages", len(f.sink.msgs))
	}
	near := bytes.Clone(key)
	near[testIDLen-1] ^= 1
	f.d.mu.Lock()
	f.d.updateContact(near, 1002, f.clock.now)
	f.d.unlock()
	if p := probes(f.sink.msgs); len(f.sink.msgs) != 2 || p[1002].msg == nil {
		t.Fatalf("the contact closest to the key was sent %d messages, want a STORE and a probe", len(f.sink.msgs))
	}
	f.sink.msgs = nil
	f.clock.now = f.clock.now.Add(time.Second)
	f.d.Tick(f.clock.now)
	if p := probes(f.sink.msgs); len(p) != 1 || p[1002].msg == nil {
		t.Fatalf("a second later: probes to %v, want the new contact only", p)
	}
}

// TestHandOver: a value stored here for another node is handed to a new
// contact that enters the k closest to its key, with its expiry, if this
// node is closer to the key than its other contacts; otherwise a closer
// holder hands it over and this one sends nothing.
func TestHandOver(t *testing.T) {
	f := newFixture(t, nil)
	f.fill(20)
	now := f.clock.now
	exp := now.Add(time.Hour)
	mine := bytes.Clone(f.d.id) // a key this node is very close to
	mine[7] ^= 0x10
	theirs := f.id() // a key some contact is closer to
	for _, k := range [][]byte{mine, theirs} {
		f.d.store(k, addrToVal(55), exp, now)
	}
	if !f.d.closestBut(mine, nil) || f.d.closestBut(theirs, nil) {
		t.Fatal("the fixture's keys are not as meant")
	}
	for _, k := range [][]byte{mine, theirs} {
		f.sink.msgs = nil
		id := bytes.Clone(k)
		id[7] ^= 0x01
		f.d.mu.Lock()
		f.d.updateContact(id, f.addr(), now)
		f.d.unlock()
		if bytes.Equal(k, theirs) {
			if len(f.sink.msgs) != 0 {
				t.Fatalf("a key others are closer to: %d messages to the newcomer", len(f.sink.msgs))
			}
			continue
		}
		if len(f.sink.msgs) != 1 {
			t.Fatalf("%d messages to the newcomer, want a STORE", len(f.sink.msgs))
		}
		st := f.sink.msgs[0].msg.GetStore()
		if !bytes.Equal(st.GetKey(), k) || valToAddr(st.GetVal()) != 55 || int64(st.GetExp()) != exp.Unix() {
			t.Fatalf("handed over %v", st)
		}
	}
}

// TestPublishReachable: when destinations become reachable, a
// publication still waiting for answers has a round at the next Tick and
// waits from 1 s again; a complete one sends nothing.
func TestPublishReachable(t *testing.T) {
	f := newFixture(t, nil)
	f.fill(20)
	waiting, complete := f.id(), f.id()
	for _, k := range [][]byte{waiting, complete} {
		if err := f.d.Reg(k); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range probes(f.sink.msgs) {
		if string(m.msg.GetFind().GetKey()) == string(complete) {
			f.answer(t, m, true)
		}
	}
	for range 10 { // the waiting one's wait grows to 8 s
		f.clock.now = f.clock.now.Add(time.Second)
		f.d.Tick(f.clock.now)
	}
	f.sink.msgs = nil
	f.clock.now = f.clock.now.Add(time.Second)
	f.d.Tick(f.clock.now)
	if len(f.sink.msgs) != 0 {
		t.Fatalf("%d messages between rounds", len(f.sink.msgs))
	}
	f.d.Reachable(20)
	for i, want := range []int{f.d.cfg.K, 0, f.d.cfg.K} { // rounds at once, then after 1 s
		f.sink.msgs = nil
		if i > 0 {
			f.clock.now = f.clock.now.Add(500 * time.Millisecond)
		}
		f.d.Tick(f.clock.now)
		p := probes(f.sink.msgs)
		if len(p) != want {
			t.Fatalf("tick %d after Reachable: %d probes, want %d", i, len(p), want)
		}
		for _, m := range p {
			if string(m.msg.GetFind().GetKey()) != string(waiting) {
				t.Fatal("the complete publication was probed again")
			}
		}
	}
}
