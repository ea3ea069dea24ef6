package unicast

import (
	"bytes"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/o7s/ouroboros/internal/wait"
	"github.com/o7s/ouroboros/stack/qos"
	"github.com/o7s/ouroboros/stack/seqpkt"
)

// recorder is a packet handler that keeps what it was given.
type recorder struct {
	mu  sync.Mutex
	got [][]byte
}

func (r *recorder) handle(b []byte) {
	r.mu.Lock()
	r.got = append(r.got, bytes.Clone(b))
	r.mu.Unlock()
}

func (r *recorder) wait(t *testing.T, n int) [][]byte {
	t.Helper()
	count := func() int {
		r.mu.Lock()
		defer r.mu.Unlock()
		return len(r.got)
	}
	if !wait.Until(10*time.Second, func() bool { return count() >= n }) {
		t.Fatalf("%d packets handled, want %d", count(), n)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.got
}

// A worker takes every waiting voice packet before any video packet, and
// every video packet before any best-effort one, whatever order they
// arrived in.
func TestPschedStrictPriority(t *testing.T) {
	var r recorder
	done := make(chan struct{})
	var wg sync.WaitGroup
	s := newPsched(r.handle, done, &wg)
	arrivals := []qos.Cube{}
	for i := range 40 {
		c := qos.CubeBE
		switch i % 4 {
		case 1:
			c = qos.CubeVideo
		case 3:
			c = qos.CubeVoice
		}
		arrivals = append(arrivals, c)
		b := []byte{byte(c), byte(i)}
		s.q[c] <- &b
	}
	s.startWorker()
	got := r.wait(t, len(arrivals))
	close(done)
	wg.Wait()
	var order []byte
	for _, b := range got {
		order = append(order, b[0])
	}
	want := bytes.Repeat([]byte{byte(qos.CubeVoice)}, 10)
	want = append(want, bytes.Repeat([]byte{byte(qos.CubeVideo)}, 10)...)
	want = append(want, bytes.Repeat([]byte{byte(qos.CubeBE)}, 20)...)
	if !bytes.Equal(order, want) {
		t.Fatalf("cubes in the order handled: %v, want %v", order, want)
	}
	// Within a cube, arrival order is kept.
	for i := 1; i < len(got); i++ {
		if got[i][0] == got[i-1][0] && got[i][1] < got[i-1][1] {
			t.Fatalf("packet %d of cube %d handled before packet %d", got[i-1][1], got[i][0], got[i][1])
		}
	}
	if s.handled[qos.CubeVoice].Load() != 10 || s.handled[qos.CubeBE].Load() != 20 {
		t.Fatalf("handled per cube: %d %d %d", s.handled[0].Load(), s.handled[1].Load(), s.handled[2].Load())
	}
}

// The queues are used only while flows of more than one cube are in use;
// workers start once.
func TestPschedMixed(t *testing.T) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	s := newPsched(func([]byte) {}, done, &wg)
	steps := []struct {
		c     qos.Cube
		add   bool
		mixed bool
	}{
		{qos.CubeBE, true, false},
		{qos.CubeBE, true, false},
		{qos.CubeVoice, true, true},
		{qos.CubeBE, false, true},
		{qos.CubeBE, false, false},
		{qos.CubeVideo, true, true},
		{qos.CubeVoice, false, false},
	}
	for i, st := range steps {
		s.use(st.c, st.add)
		if s.mixed.Load() != st.mixed {
			t.Fatalf("step %d (%v, add %v): mixed %v, want %v", i, st.c, st.add, s.mixed.Load(), st.mixed)
		}
	}
	if top := qos.Cube(s.top.Load()); top != qos.CubeVideo {
		t.Fatalf("highest cube in use %v, want video", top)
	}
	if !s.started {
		t.Fatal("no workers were started")
	}
	close(done)
	wg.Wait()
}

// Packets read from a flow reach the handler whole, in order, both when
// the reader handles them itself (one cube in use, or the flow is in the
// highest) and when they go through the queues (a lower cube).
func TestPschedRead(t *testing.T) {
	for _, tc := range []struct {
		cube, other qos.Cube
		queued      bool
	}{{qos.CubeVideo, qos.CubeVideo, false}, {qos.CubeVideo, qos.CubeBE, false}, {qos.CubeVideo, qos.CubeVoice, true}} {
		var r recorder
		done := make(chan struct{})
		var wg sync.WaitGroup
		s := newPsched(r.handle, done, &wg)
		s.use(tc.cube, true)
		s.use(tc.other, true)
		a, b, err := seqpkt.Pair()
		if err != nil {
			t.Fatal(err)
		}
		ended := make(chan error, 1)
		go func() { ended <- s.read(b, tc.cube, new(atomic.Uint64)) }()
		var sent [][]byte
		for i := range 100 {
			p := bytes.Repeat([]byte{byte(i)}, 1+i*37%3000) // some above pktBuf
			sent = append(sent, p)
			if err := a.Write(p); err != nil {
				t.Fatal(err)
			}
		}
		got := r.wait(t, len(sent))
		for i := range sent {
			if !bytes.Equal(got[i], sent[i]) {
				t.Fatalf("%v beside %v: packet %d: %d bytes, want %d", tc.cube, tc.other, i, len(got[i]), len(sent[i]))
			}
		}
		if n := s.handled[tc.cube].Load(); tc.queued != (n == 100) || (!tc.queued && n != 0) {
			t.Fatalf("%v beside %v: %d packets went through the queue", tc.cube, tc.other, n)
		}
		a.Close()
		if err := <-ended; err == nil {
			t.Fatal("the reader did not say why it ended")
		}
		b.Close()
		close(done)
		wg.Wait()
	}
}
