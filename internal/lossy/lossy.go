// Package lossy is an impaired link for tests, in memory and on a virtual
// clock: packets sent into it come out later, or never, or twice, or out of
// order, or with a bit flipped, as its seeded random source decides, so a
// run repeats exactly.
package lossy

import (
	"container/heap"
	"math/rand/v2"
	"time"
)

// Impairment says what the link does to each packet.
type Impairment struct {
	Loss    float64       // probability a packet is lost
	Dup     float64       // probability it arrives twice
	Reorder float64       // probability it is held back by ReorderBy
	Corrupt float64       // probability one bit of it is flipped
	Delay   time.Duration // one-way delay
	Jitter  time.Duration // uniform extra delay in [0, Jitter)
	// ReorderBy is how long a reordered packet is held back (default 4×
	// Delay, at least 1 ms).
	ReorderBy time.Duration
	// Rate, in bytes per second, serialises packets (0: no limit).
	Rate float64
	Seed uint64
}

// Counters say what the link did.
type Counters struct {
	Sent, Lost, Duplicated, Reordered, Corrupted, Delivered uint64
}

// Link is one direction of an impaired link.
type Link struct {
	im   Impairment
	rng  *rand.Rand
	q    queue
	n    uint64
	busy int64 // when the serialiser is free
	Counters
}

// New returns a link with the impairment.
func New(im Impairment) *Link {
	if im.ReorderBy == 0 {
		im.ReorderBy = max(4*im.Delay, time.Millisecond)
	}
	return &Link{im: im, rng: rand.New(rand.NewPCG(im.Seed, im.Seed^0x9e3779b97f4a7c15))}
}

// Send puts a copy of pkt on the link at time now (ns).
func (l *Link) Send(pkt []byte, now int64) {
	l.Sent++
	if l.rng.Float64() < l.im.Loss {
		l.Lost++
		return
	}
	copies := 1
	if l.rng.Float64() < l.im.Dup {
		l.Duplicated++
		copies = 2
	}
	at := now
	if l.im.Rate > 0 {
		at = max(at, l.busy) + int64(float64(len(pkt))/l.im.Rate*1e9)
		l.busy = at
	}
	for range copies {
		p := append([]byte(nil), pkt...)
		if len(p) > 0 && l.rng.Float64() < l.im.Corrupt {
			l.Corrupted++
			i := l.rng.IntN(len(p) * 8)
			p[i/8] ^= 1 << (i % 8)
		}
		t := at + int64(l.im.Delay)
		if l.im.Jitter > 0 {
			t += l.rng.Int64N(int64(l.im.Jitter))
		}
		if l.rng.Float64() < l.im.Reorder {
			l.Reordered++
			t += int64(l.im.ReorderBy)
		}
		l.n++
		heap.Push(&l.q, item{at: t, n: l.n, pkt: p})
	}
}

// Next returns when the next packet comes out, or 0 when none is on the
// link.
func (l *Link) Next() int64 {
	if len(l.q) == 0 {
		return 0
	}
	return l.q[0].at
}

// Receive returns the next packet due at now, or nil.
func (l *Link) Receive(now int64) []byte {
	if len(l.q) == 0 || l.q[0].at > now {
		return nil
	}
	l.Delivered++
	return heap.Pop(&l.q).(item).pkt
}

type item struct {
	at  int64
	n   uint64
	pkt []byte
}

type queue []item

func (q queue) Len() int { return len(q) }
func (q queue) Less(i, j int) bool {
	if q[i].at != q[j].at {
		return q[i].at < q[j].at
	}
	return q[i].n < q[j].n
}
func (q queue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *queue) Push(x any)   { *q = append(*q, x.(item)) }
func (q *queue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}
