package dir

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
)

// simNet is an in-process network of DHTs: sends are queued and delivered
// one round at a time.
type simNet struct {
	nodes   map[uint64]*DHT
	pending []simPkt
	found   map[uint64]map[string]uint64 // querier → key → address
	clock   *testClock
	msgs    int
	seed    uint64
	// noRoute, if set, says which sends fail as if there were no route.
	noRoute func(src, dst uint64) bool
}

var errNoRoute = errors.New("no route")

type simPkt struct {
	src, dst uint64
	b        []byte
}

func newSimNet(t testing.TB, n int, seed uint64) *simNet {
	s := &simNet{
		nodes: make(map[uint64]*DHT),
		found: make(map[uint64]map[string]uint64),
		clock: &testClock{now: time.Unix(1_700_000_000, 0)},
		seed:  seed,
	}
	rng := rand.New(rand.NewPCG(seed, seed))
	for i := 1; i <= n; i++ {
		var peerAddr uint64
		if i > 1 {
			peerAddr = uint64(1 + rng.IntN(i-1))
		}
		if err := s.add(t, uint64(i), peerAddr, nil).Bootstrap(); err != nil {
			t.Fatalf("Bootstrap: %v", err)
		}
		s.run(t, 50)
	}
	return s
}

// add makes node addr, to bootstrap against peerAddr, with node id id (or
// a random one).
func (s *simNet) add(t testing.TB, addr, peerAddr uint64, id []byte) *DHT {
	t.Helper()
	s.found[addr] = make(map[string]uint64)
	d, err := New(Config{
		IDLen: testIDLen,
		Addr:  addr,
		Peer:  peerAddr,
		ID:    id,
		Clock: s.clock.Now,
		Rand:  rand.New(rand.NewPCG(s.seed, addr)),
		OnResult: func(key []byte, a uint64) {
			s.found[addr][string(key)] = a
		},
	}, func(dst uint64, b []byte) error {
		if s.noRoute != nil && s.noRoute(addr, dst) {
			return errNoRoute
		}
		s.pending = append(s.pending, simPkt{src: addr, dst: dst, b: b})
		return nil
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	s.nodes[addr] = d
	return d
}

// tick lets d pass in steps of a second: every node ticks, and the
// network runs until quiet after each step.
func (s *simNet) tick(t testing.TB, d time.Duration) {
	t.Helper()
	for end := s.clock.now.Add(d); s.clock.now.Before(end); {
		s.clock.now = s.clock.now.Add(time.Second)
		for _, n := range s.nodes {
			n.Tick(s.clock.now)
		}
		s.run(t, 50)
	}
}

// run delivers packets round by round until the network is quiet and
// returns the number of rounds.
func (s *simNet) run(t testing.TB, maxRounds int) int {
	for r := 0; ; r++ {
		if len(s.pending) == 0 {
			return r
		}
		if r == maxRounds {
			t.Fatalf("network not quiet after %d rounds", maxRounds)
		}
		s.clock.now = s.clock.now.Add(10 * time.Millisecond)
		batch := s.pending
		s.pending = nil
		for _, p := range batch {
			s.msgs++
			s.nodes[p.dst].Handle(p.src, p.b) // stale responses are refused: fine
		}
	}
}

func nameKey(i int) []byte {
	h := sha256.Sum256(fmt.Appendf(nil, "name-%d", i))
	return h[:]
}

// register makes every node register its name; publication (pub.go)
// takes it to the nodes that lookups converge on.
func (s *simNet) register(t testing.TB, n, maxRounds int) {
	for i := 1; i <= n; i++ {
		if err := s.nodes[uint64(i)].Reg(nameKey(i)); err != nil {
			t.Fatalf("Reg: %v", err)
		}
	}
	s.run(t, maxRounds)
}

func TestSimulation100(t *testing.T) {
	const n, maxRounds = 100, 20
	s := newSimNet(t, n, 7)
	start := s.msgs
	s.register(t, n, maxRounds)
	t.Logf("%d names registered with %d messages (%.1f per name)", n, s.msgs-start, float64(s.msgs-start)/n)
	start = s.msgs
	for i := 1; i <= n; i++ {
		for j := 1; j <= n; j++ {
			if i == j {
				continue
			}
			a, err := s.nodes[uint64(i)].Query(nameKey(j))
			if err == nil {
				s.found[uint64(i)][string(nameKey(j))] = a
			}
		}
	}
	rounds := s.run(t, maxRounds)
	for i := 1; i <= n; i++ {
		for j := 1; j <= n; j++ {
			if i == j {
				continue
			}
			if got := s.found[uint64(i)][string(nameKey(j))]; got != uint64(j) {
				t.Fatalf("node %d resolved name-%d to %d, want %d", i, j, got, j)
			}
		}
	}
	t.Logf("%d lookups in %d rounds, %d messages (%.1f per lookup)",
		n*(n-1), rounds, s.msgs-start, float64(s.msgs-start)/float64(n*(n-1)))
}

// BenchmarkSimulation100 builds a 100-node DHT with one name per node
// and reports the heap held per node.
func BenchmarkSimulation100(b *testing.B) {
	const n = 100
	var perNode float64
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		s := newSimNet(b, n, 7)
		s.register(b, n, 20)
		runtime.GC()
		runtime.ReadMemStats(&after)
		perNode = float64(after.HeapAlloc-before.HeapAlloc) / n
		runtime.KeepAlive(s)
	}
	b.ReportMetric(perNode, "B/node")
}
