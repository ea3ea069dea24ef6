package dir

import (
	"slices"
	"testing"
	"time"
)

// TestJoinBackoff: the join lookup's request goes again, with its cookie,
// to a contact that never answers, after waits of 1, 2, 4 ... s up to the
// cap (60 s), and stops after the round that follows a wait of the cap;
// without a contact there is no round.
func TestJoinBackoff(t *testing.T) {
	const peerAddr = 42
	f := newFixture(t, func(c *Config) { c.Peer = peerAddr })
	if err := f.d.Bootstrap(); err != nil {
		t.Fatal(err)
	}
	start := f.clock.now
	tick := func(s int) {
		f.clock.now = start.Add(time.Duration(s) * time.Second)
		f.d.Tick(f.clock.now)
	}
	for s := 1; s <= 5; s++ {
		tick(s)
	}
	if len(f.sink.msgs) != 1 || f.d.Stats().JoinRounds != 0 {
		t.Fatalf("without a contact: %d messages, %d rounds", len(f.sink.msgs), f.d.Stats().JoinRounds)
	}
	// The enroller answers with one contact, which is asked and never
	// answers.
	silent := newContact(f.id(), 43, f.clock.now)
	rsp := f.d.findNodeRspMsg(f.d.id, f.d.magic, []*contact{silent})
	if err := f.d.Handle(peerAddr, peerMsg(rsp, newContact(f.id(), peerAddr, f.clock.now))); err != nil {
		t.Fatal(err)
	}
	if m := f.sink.msgs[len(f.sink.msgs)-1]; m.dst != silent.addr {
		t.Fatalf("the enroller's contact was not asked: %v to %d", m.msg, m.dst)
	}
	cookie := f.sink.msgs[len(f.sink.msgs)-1].msg.GetFind().GetCookie()
	f.sink.msgs = nil
	start = f.clock.now
	var rounds []time.Duration
	for s := 1; s <= 600; s++ {
		tick(s)
		if len(f.sink.msgs) == 0 {
			continue
		}
		if m := f.sink.msgs[0]; len(f.sink.msgs) != 1 || m.dst != silent.addr || m.msg.GetFind().GetCookie() != cookie {
			t.Fatalf("round at %d s: %d messages, want the request again to %d with its cookie", s, len(f.sink.msgs), silent.addr)
		}
		rounds = append(rounds, time.Duration(s)*time.Second)
		f.sink.msgs = nil
	}
	want := []time.Duration{1, 2, 4, 8, 16, 32, 64, 124}
	for i := range want {
		want[i] *= time.Second
	}
	if !slices.Equal(rounds, want) {
		t.Fatalf("rounds at %v, want %v", rounds, want)
	}
	if !f.d.join.done {
		t.Fatal("joining not over")
	}
}

// TestJoinEnrollerLearnsLater: a node that joined through an enroller that
// knew nobody yet, and that the others could not reach while they joined
// (no route to it yet), learns the layer that formed since, and the layer
// learns it, from a fresh join lookup once it sees routes to them; then
// it stops.
func TestJoinEnrollerLearnsLater(t *testing.T) {
	s := newSimNet(t, 1, 15)
	x := s.add(t, 2, 1, nil)
	if err := x.Bootstrap(); err != nil {
		t.Fatal(err)
	}
	s.run(t, 50)
	s.noRoute = func(src, dst uint64) bool { return (src == 2 || dst == 2) && src != 1 && dst != 1 }
	for a := uint64(3); a <= 40; a++ { // everyone else joins through node 1
		if err := s.add(t, a, 1, nil).Bootstrap(); err != nil {
			t.Fatal(err)
		}
		s.run(t, 50)
	}
	s.noRoute = nil
	before := x.Contacts()
	x.Reachable(39) // the owner sees routes to the others
	s.tick(t, 3*time.Minute)
	if got := x.Contacts(); got < DefaultK || !x.join.done {
		t.Fatalf("contacts %d before the rounds, %d after (done %v)", before, got, x.join.done)
	}
	knownBy := 0
	for a, d := range s.nodes {
		if a != 2 && d.Knows(2) {
			knownBy++
		}
	}
	t.Logf("contacts %d before the rounds, %d after, in %d rounds; known by %d of 39",
		before, x.Contacts(), x.Stats().JoinRounds, knownBy)
}

// TestJoinAfterRoutes: a node that joins while it has a route to its
// enroller only learns just the enroller's answer; once routes exist, the
// join rounds make it known to, and let it know, its neighbourhood, and
// it finds a name registered elsewhere.
func TestJoinAfterRoutes(t *testing.T) {
	const n = 40
	s := newSimNet(t, n, 14)
	key := nameKey(3)
	if err := s.nodes[3].Reg(key); err != nil {
		t.Fatal(err)
	}
	s.run(t, 50)
	const z, enroller = n + 1, 20
	s.noRoute = func(src, dst uint64) bool {
		return src == z && dst != enroller || dst == z && src != enroller
	}
	d := s.add(t, z, enroller, nil)
	if err := d.Bootstrap(); err != nil {
		t.Fatal(err)
	}
	s.run(t, 50)
	alone := d.Contacts()
	s.noRoute = nil
	s.tick(t, 10*time.Second)
	if got := d.Contacts(); got <= alone {
		t.Fatalf("contacts %d before the routes, %d after", alone, got)
	}
	knownBy := 0
	for a, x := range s.nodes {
		if a != z && x.Knows(z) {
			knownBy++
		}
	}
	if got, err := d.Query(key); err == nil {
		s.found[z][string(key)] = got
	}
	s.run(t, 50)
	if got := s.found[z][string(key)]; got != 3 {
		t.Fatalf("the late node resolved the key to %d, want 3", got)
	}
	t.Logf("%d contacts before the routes, %d after; known by %d of %d; %d join rounds",
		alone, d.Contacts(), knownBy, n, d.Stats().JoinRounds)
}

// TestJoinSettles: in a 40-node DHT, every node's join rounds end within
// three minutes, and then nothing more is sent.
func TestJoinSettles(t *testing.T) {
	const n = 40
	s := newSimNet(t, n, 16)
	start := s.msgs
	s.tick(t, 3*time.Minute)
	var rounds uint64
	for a, d := range s.nodes {
		if a != 1 && !d.join.done {
			t.Fatalf("node %d still joining after 3 min (%d rounds)", a, d.Stats().JoinRounds)
		}
		rounds += d.Stats().JoinRounds
	}
	t.Logf("join rounds: %.1f per node, %.1f messages per node", float64(rounds)/(n-1), float64(s.msgs-start)/n)
	quiet := s.msgs
	s.tick(t, 2*time.Minute)
	if s.msgs != quiet {
		t.Fatalf("%d messages once joining was over", s.msgs-quiet)
	}
}

// TestJoinReachable: joining that ended with the neighbourhood having
// nothing to tell starts again when the owner reports more members
// reachable than the table holds (up to k), and not otherwise.
func TestJoinReachable(t *testing.T) {
	const peerAddr = 42
	f := newFixture(t, func(c *Config) { c.Peer = peerAddr })
	if err := f.d.Bootstrap(); err != nil {
		t.Fatal(err)
	}
	enroller := newContact(f.id(), peerAddr, f.clock.now)
	answer := func() {
		t.Helper()
		for _, m := range f.sink.msgs {
			rsp := f.d.findNodeRspMsg(f.d.id, m.msg.GetFind().GetCookie(), nil)
			if err := f.d.Handle(peerAddr, peerMsg(rsp, enroller)); err != nil {
				t.Fatal(err)
			}
		}
		f.sink.msgs = nil
	}
	tick := func() {
		f.clock.now = f.clock.now.Add(time.Second)
		f.d.Tick(f.clock.now)
	}
	answer()
	for range 5 {
		tick()
		answer()
	}
	if !f.d.join.done || f.d.Contacts() != 1 {
		t.Fatalf("joining done %v with %d contacts, want done with the enroller only", f.d.join.done, f.d.Contacts())
	}
	f.d.Reachable(1) // as many as it knows: nothing to learn
	tick()
	if len(f.sink.msgs) != 0 {
		t.Fatalf("%d messages after Reachable(1)", len(f.sink.msgs))
	}
	f.d.Reachable(30)
	tick()
	if len(f.sink.msgs) != 1 || Code(f.sink.msgs[0].msg.GetCode()) != CodeFindNodeReq {
		t.Fatalf("after Reachable(30): %d messages, want the join lookup again", len(f.sink.msgs))
	}
}
