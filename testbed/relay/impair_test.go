package relay

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/o7s/ouroboros/testbed/topo"
)

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func pct(s string) topo.Percent { return must(topo.ParsePercent(s)) }

const ms = int64(time.Millisecond)

// run feeds n frames of size bytes, one every gap ns, and returns the
// verdicts.
func run(e *Engine, n, size int, gap int64) []Verdict {
	vs := make([]Verdict, n)
	for i := range n {
		e.Decide(size, int64(i)*gap, &vs[i])
	}
	return vs
}

func TestDelayJitterKeepsOrder(t *testing.T) {
	e := NewEngine(Config{Impair: topo.Impairment{Delay: 20 * time.Millisecond, Jitter: 5 * time.Millisecond}, Seed: 1})
	const n, gap = 10000, 100 * int64(time.Microsecond)
	vs := run(e, n, 100, gap)
	var sum float64
	var waits []int64
	last := int64(0)
	for i, v := range vs {
		if v.Copies != 1 {
			t.Fatalf("frame %d: %d copies", i, v.Copies)
		}
		w := v.At[0] - int64(i)*gap
		if w < 15*ms || w > 25*ms+gap*10 {
			t.Fatalf("frame %d waits %v, not within 15 ms .. 25 ms (and a little for the order)", i, time.Duration(w))
		}
		if v.At[0] < last {
			t.Fatalf("frame %d leaves before the one before it", i)
		}
		last = v.At[0]
		sum += float64(w)
		waits = append(waits, w)
	}
	slices.Sort(waits)
	mean := time.Duration(sum / n)
	t.Logf("delay 20ms jitter 5ms, a frame every 100µs: mean %v, min %v, p50 %v, max %v", mean,
		time.Duration(waits[0]), time.Duration(waits[n/2]), time.Duration(waits[n-1]))
	// FIFO moves the spread up: frames wait for a late one before them.
	if mean < 20*time.Millisecond || mean > 24*time.Millisecond {
		t.Errorf("mean delay %v, want 20 ms to 24 ms", mean)
	}
	// Sparse frames (10 ms apart) see the jitter as it is: uniform on ±5 ms.
	e = NewEngine(Config{Impair: topo.Impairment{Delay: 20 * time.Millisecond, Jitter: 5 * time.Millisecond}, Seed: 1})
	vs = run(e, 2000, 100, 10*ms)
	var lo, hi int
	sum = 0
	for i, v := range vs {
		w := v.At[0] - int64(i)*10*ms
		sum += float64(w)
		if w < 17500*int64(time.Microsecond) {
			lo++
		}
		if w > 22500*int64(time.Microsecond) {
			hi++
		}
	}
	if m := time.Duration(sum / 2000); m < 19800*time.Microsecond || m > 20200*time.Microsecond {
		t.Errorf("sparse frames: mean delay %v, want 20 ms ± 0.2 ms", m)
	}
	if lo < 400 || lo > 600 || hi < 400 || hi > 600 { // a quarter each
		t.Errorf("sparse frames: %d below 17.5 ms and %d above 22.5 ms of 2000, want about 500 each", lo, hi)
	}
}

func TestSeedRepeats(t *testing.T) {
	im := topo.Impairment{Loss: pct("10%"), Duplicate: pct("5%"), Delay: 5 * time.Millisecond, Jitter: 2 * time.Millisecond,
		Reorder: pct("10%"), Corrupt: pct("10%")}
	a := run(NewEngine(Config{Impair: im, Seed: 7}), 5000, 500, ms/10)
	b := run(NewEngine(Config{Impair: im, Seed: 7}), 5000, 500, ms/10)
	c := run(NewEngine(Config{Impair: im, Seed: 8}), 5000, 500, ms/10)
	if !slices.Equal(a, b) {
		t.Error("the same seed decided differently")
	}
	if slices.Equal(a, c) {
		t.Error("another seed decided the same")
	}
	e := NewEngine(Config{Impair: im, Seed: 7})
	run(e, 100, 500, ms/10)
	e.Set(Config{Impair: im, Seed: 7}) // starts again
	d := run(e, 100, 500, ms/10)
	for i := range d { // the frames before the set may hold these back: compare fates, not times
		if d[i].Copies != a[i].Copies || d[i].Flip != a[i].Flip {
			t.Fatalf("frame %d after set: %+v, first time %+v: set did not start the random source again", i, d[i], a[i])
		}
	}
	if c := e.Counters(); c.Received != 100 {
		t.Errorf("%d received since the set, want 100", c.Received)
	}
}

func TestReorder(t *testing.T) {
	e := NewEngine(Config{Impair: topo.Impairment{Reorder: pct("25%")}, Seed: 3})
	const n = 20000
	vs := run(e, n, 100, ms/10) // 10 frames per hold (1 ms)
	held, overtaken := 0, 0
	for i, v := range vs {
		if v.At[0] > int64(i)*ms/10 {
			held++
			if i+1 < n && vs[i+1].At[0] < v.At[0] {
				overtaken++
			}
		}
	}
	c := e.Counters()
	if c.Reordered != uint64(held) {
		t.Errorf("counted %d reordered, %d held", c.Reordered, held)
	}
	if share := float64(held) / n; math.Abs(share-0.25) > 0.02 {
		t.Errorf("%.3f reordered, want 0.25 ± 0.02", share)
	}
	if overtaken < held*7/10 { // the next frame is reordered too a quarter of the time
		t.Errorf("only %d of %d held frames were overtaken by the next", overtaken, held)
	}
}

func TestLoss(t *testing.T) {
	for _, tc := range []struct {
		loss  string
		burst int
	}{{"20%", 0}, {"10%", 5}, {"1%", 3}, {"50%", 10}} {
		e := NewEngine(Config{Impair: topo.Impairment{Loss: pct(tc.loss), LossBurst: tc.burst}, Seed: 11})
		const n = 200000
		vs := run(e, n, 100, 1000)
		lost, runs, inRun := 0, 0, false
		for _, v := range vs {
			if v.Copies == 0 {
				lost++
				if !inRun {
					runs++
				}
			}
			inRun = v.Copies == 0
		}
		want := pct(tc.loss).Fraction()
		share := float64(lost) / n
		meanRun := float64(lost) / float64(runs)
		wantRun := max(1/(1-want), float64(tc.burst)) // independent losses: runs of 1/(1-p)
		t.Logf("loss %s burst %d: %.4f lost, mean run %.2f frames", tc.loss, tc.burst, share, meanRun)
		if math.Abs(share-want) > want*0.1 {
			t.Errorf("loss %s burst %d: %.4f lost, want %.4f ± 10%%", tc.loss, tc.burst, share, want)
		}
		if math.Abs(meanRun-wantRun) > wantRun*0.1 {
			t.Errorf("loss %s burst %d: mean run %.2f, want %.2f ± 10%%", tc.loss, tc.burst, meanRun, wantRun)
		}
		if c := e.Counters(); c.Dropped != uint64(lost) || c.Received != n {
			t.Errorf("counters %+v, lost %d of %d", c, lost, n)
		}
	}
}

func TestCorruptAndDuplicate(t *testing.T) {
	e := NewEngine(Config{Impair: topo.Impairment{Corrupt: pct("10%"), Duplicate: pct("20%")}, Seed: 5})
	const n, size = 50000, 200
	vs := run(e, n, size, 1000)
	flips, copies := 0, 0
	for _, v := range vs {
		copies += v.Copies
		for c := range v.Copies {
			if f := v.Flip[c]; f >= 0 {
				flips++
				if f < EthHeader*8 || f >= size*8 {
					t.Fatalf("bit %d flipped: not in the payload of a %d-byte frame", f, size)
				}
			}
		}
	}
	if s := float64(flips) / float64(copies); math.Abs(s-0.1) > 0.01 {
		t.Errorf("%.3f of the frames corrupted, want 0.1", s)
	}
	if s := float64(copies-n) / n; math.Abs(s-0.2) > 0.01 {
		t.Errorf("%.3f duplicated, want 0.2", s)
	}
	c := e.Counters()
	if c.Corrupted != uint64(flips) || c.Duplicated != uint64(copies-n) {
		t.Errorf("counters %+v, %d flips, %d copies", c, flips, copies-n)
	}
	b := make([]byte, 4)
	Flip(b, 9)
	if b[1] != 0x40 {
		t.Errorf("Flip(9) made %x", b)
	}
	// A frame with nothing after its header is never corrupted.
	e = NewEngine(Config{Impair: topo.Impairment{Corrupt: pct("100%")}})
	var v Verdict
	e.Decide(EthHeader, 0, &v)
	if v.Flip[0] != -1 {
		t.Error("a bare header was corrupted")
	}
}

func TestRate(t *testing.T) {
	// 1 Mbit/s, frames of 1250 bytes: 10 ms each. 100 at once: the first
	// 6 fit in 50 ms of queue (waits of 0, 10, ... 50 ms), the rest are
	// dropped.
	e := NewEngine(Config{Impair: topo.Impairment{Rate: 1_000_000, Delay: time.Millisecond}})
	var at []int64
	for range 100 {
		var v Verdict
		e.Decide(1250, 0, &v)
		if v.Copies > 0 {
			at = append(at, v.At[0])
		}
	}
	want := []int64{11 * ms, 21 * ms, 31 * ms, 41 * ms, 51 * ms, 61 * ms}
	if !slices.Equal(at, want) {
		t.Errorf("frames leave at %v, want %v", at, want)
	}
	if c := e.Counters(); c.QueueDrops != 94 {
		t.Errorf("%d queue drops, want 94", c.QueueDrops)
	}
}

func TestDecideAllocatesNothing(t *testing.T) {
	e := NewEngine(Config{Impair: topo.Impairment{Loss: pct("1%"), LossBurst: 3, Duplicate: pct("1%"), Rate: 1e9,
		Delay: time.Millisecond, Jitter: time.Millisecond, Reorder: pct("1%"), Corrupt: pct("1%")}, Seed: 1})
	var v Verdict
	now := int64(0)
	if a := testing.AllocsPerRun(1000, func() { now += 1000; e.Decide(1000, now, &v) }); a != 0 {
		t.Errorf("Decide allocates %v times a frame", a)
	}
}

func TestQueueOrder(t *testing.T) {
	q := newQueue(100)
	ats := []int64{5, 3, 9, 3, 1, 7, 3}
	for i, at := range ats {
		q.push(at, nil, i)
	}
	var got [][2]int64
	for q.len() > 0 {
		it := q.pop()
		got = append(got, [2]int64{it.at, int64(it.n)})
	}
	want := [][2]int64{{1, 4}, {3, 1}, {3, 3}, {3, 6}, {5, 0}, {7, 5}, {9, 2}}
	if !slices.Equal(got, want) {
		t.Errorf("popped %v, want %v", got, want)
	}
}
