// Package relay is the testbed's userspace impairment relay: a small
// process in a namespace of its own between the two ends of a link, which
// reads every frame from one side through AF_PACKET and writes it to the
// other, after the impairment of that direction decided its fate. It makes
// real the knobs this kernel has no backend for (no netem): delay, jitter,
// reorder, corrupt and burst loss, and on a relayed link loss, duplicate
// and rate too, so that one place decides everything and its counters add
// up.
//
// The decisions (Engine) are plain code on a clock given to them, seeded,
// so a run repeats: the same frames at the same times get the same fate.
//
// What each knob does here:
//
//   - delay d, jitter j: a frame leaves d + U(-j, +j) after it arrived
//     (uniform; never before it arrived). Jitter keeps the order of frames:
//     a frame never leaves before the one that arrived before it (it waits
//     for it), so jitter spreads the delay without reordering, as most users
//     expect (netem reorders with jitter unless it also has a rate; here
//     reorder: is the only knob that reorders).
//   - reorder p: a frame is, with probability p, held back by
//     max(delay, 1ms) + jitter beyond its own departure time, and does not
//     hold the frames after it, which overtake it if they come within that
//     time. The frames after it are not delayed by it.
//   - corrupt p: one random bit of the frame, after its 14-byte Ethernet
//     header, is flipped (so the frame still reaches its peer, and its
//     payload is what is wrong: IP and UDP checksums fail, an Ouroboros
//     flow's CRC fails). A frame no longer than its header is not touched.
//   - loss p: each frame is dropped with probability p; with loss_burst b
//     (> 1) losses come in runs: a two-state Gilbert model (Gilbert-Elliott
//     with h = 0 and k = 1: every frame in the bad state is lost, none in
//     the good state), with r = 1/b (the chance to leave the bad state, so
//     runs are b frames long on average) and p_gb = loss·r/(1-loss) (so
//     the share of frames lost is loss on average).
//   - duplicate p: a frame is sent twice, the copy right after it (each
//     copy is corrupted or not on its own).
//   - rate R: frames are serialised at R bits per second (the frame's whole
//     length counts) before the delay; a frame that would wait more than
//     RateQueue for its turn is dropped (counted as a queue drop), as the
//     kernel's tbf with 50 ms of queue does.
package relay

import (
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/o7s/ouroboros/testbed/topo"
)

// Ceiling is what a relay with no impairment was measured to forward, one
// way, on the 2-core machine it was written on (TestRelayCeiling, frames
// blasted through AF_PACKET), against a bare veth pair in the same run. A
// performance test through a relayed link measures the relay beyond this.
const Ceiling = "about 220k frames/s at 64 B and 120k frames/s at 1400 B (a bare veth pair: about 400k frames/s)"

// RateQueue is the most a frame waits for its turn under a rate limit.
const RateQueue = 50 * time.Millisecond

// EthHeader is the part of a frame corruption leaves alone.
const EthHeader = 14

// Config is what one direction of a relay does to frames.
type Config struct {
	Impair topo.Impairment `json:"impair"`
	Seed   uint64          `json:"seed"`
}

// Counters count what one direction of a relay did.
type Counters struct {
	Received   uint64 `json:"received"`    // frames read from the sending side
	Passed     uint64 `json:"passed"`      // frames written to the receiving side (copies too)
	Dropped    uint64 `json:"dropped"`     // dropped by loss
	Duplicated uint64 `json:"duplicated"`  // copies made
	Corrupted  uint64 `json:"corrupted"`   // frames (copies) with a bit flipped
	Delayed    uint64 `json:"delayed"`     // frames held for any time
	Reordered  uint64 `json:"reordered"`   // frames held back to be overtaken
	QueueDrops uint64 `json:"queue_drops"` // dropped by the rate limit's queue or the relay's full queue
	Oversize   uint64 `json:"oversize"`    // frames longer than the relay's buffers (dropped)
}

// counters are Counters updated by the direction and read by the control
// socket at the same time.
type counters struct {
	received, passed, dropped, duplicated, corrupted, delayed, reordered, queueDrops, oversize atomic.Uint64
}

func (c *counters) snapshot() Counters {
	return Counters{
		Received: c.received.Load(), Passed: c.passed.Load(), Dropped: c.dropped.Load(),
		Duplicated: c.duplicated.Load(), Corrupted: c.corrupted.Load(), Delayed: c.delayed.Load(),
		Reordered: c.reordered.Load(), QueueDrops: c.queueDrops.Load(), Oversize: c.oversize.Load(),
	}
}

func (c *counters) reset() {
	for _, v := range []*atomic.Uint64{&c.received, &c.passed, &c.dropped, &c.duplicated, &c.corrupted,
		&c.delayed, &c.reordered, &c.queueDrops, &c.oversize} {
		v.Store(0)
	}
}

// Verdict is the fate of one frame: Copies copies (0: dropped), each
// leaving at At[i] (ns, on the clock Decide was given), with bit Flip[i]
// of the frame flipped (-1: none).
type Verdict struct {
	Copies int
	At     [2]int64
	Flip   [2]int
}

// Engine decides the fate of the frames of one direction. It is not safe
// for concurrent use; its counters may be read at any time.
type Engine struct {
	im       topo.Impairment
	rng      *rand.Rand
	loss     float64
	dup      float64
	reorder  float64
	corrupt  float64
	burst    bool    // Gilbert model
	pBad     float64 // good -> bad
	rGood    float64 // bad -> good
	bad      bool
	hold     int64 // how long a reordered frame is held back
	nsPerBit float64
	busy     int64 // when the rate limit's serialiser is free
	last     int64 // when the last frame in order leaves
	c        counters
}

// NewEngine returns the engine of a configuration.
func NewEngine(c Config) *Engine {
	e := &Engine{}
	e.Set(c)
	return e
}

// Set replaces the configuration and starts the random source again from
// the seed; the counters start again from zero.
func (e *Engine) Set(c Config) {
	im := c.Impair
	e.im = im
	e.rng = rand.New(rand.NewPCG(c.Seed, c.Seed^0x9e3779b97f4a7c15))
	e.loss, e.dup = im.Loss.Fraction(), im.Duplicate.Fraction()
	e.reorder, e.corrupt = im.Reorder.Fraction(), im.Corrupt.Fraction()
	e.hold = int64(max(im.Delay, time.Millisecond) + im.Jitter)
	e.burst, e.bad, e.pBad, e.rGood, e.nsPerBit = false, false, 0, 0, 0
	// e.last and e.busy stay: frames already on their way keep their
	// order and their place in the rate limit's queue.
	e.c.reset()
	if im.LossBurst > 1 && e.loss > 0 {
		e.burst = true
		e.rGood = 1 / float64(im.LossBurst)
		if e.loss >= 1 {
			e.pBad = 1
		} else {
			e.pBad = min(e.loss*e.rGood/(1-e.loss), 1)
		}
	}
	if im.Rate > 0 {
		e.nsPerBit = 1e9 / float64(im.Rate)
	}
}

// Impairment is the engine's impairment.
func (e *Engine) Impairment() topo.Impairment { return e.im }

// Counters is what the engine counted since it was last set.
func (e *Engine) Counters() Counters { return e.c.snapshot() }

// lost decides whether the next frame is lost.
func (e *Engine) lost() bool {
	if !e.burst {
		return e.loss > 0 && e.rng.Float64() < e.loss
	}
	lose := e.bad
	if e.bad {
		e.bad = e.rng.Float64() >= e.rGood
	} else {
		e.bad = e.rng.Float64() < e.pBad
	}
	return lose
}

// Decide decides the fate of a frame of size bytes arriving at now (ns).
func (e *Engine) Decide(size int, now int64, v *Verdict) {
	e.c.received.Add(1)
	v.Copies = 0
	if e.lost() {
		e.c.dropped.Add(1)
		return
	}
	at := now
	if e.nsPerBit > 0 {
		start := max(now, e.busy)
		if start-now > int64(RateQueue) {
			e.c.queueDrops.Add(1)
			return
		}
		e.busy = start + int64(float64(size*8)*e.nsPerBit)
		at = e.busy
	}
	at += int64(e.im.Delay)
	if j := int64(e.im.Jitter); j > 0 {
		at += e.rng.Int64N(2*j+1) - j
		at = max(at, now)
	}
	reordered := e.reorder > 0 && e.rng.Float64() < e.reorder
	if reordered {
		e.c.reordered.Add(1)
		at = max(at, e.last) + e.hold
	} else {
		at = max(at, e.last)
		e.last = at
	}
	if at > now {
		e.c.delayed.Add(1)
	}
	v.Copies = 1
	if e.dup > 0 && e.rng.Float64() < e.dup {
		e.c.duplicated.Add(1)
		v.Copies = 2
	}
	for i := range v.Copies {
		v.At[i] = at
		v.Flip[i] = -1
		if e.corrupt > 0 && size > EthHeader && e.rng.Float64() < e.corrupt {
			e.c.corrupted.Add(1)
			v.Flip[i] = EthHeader*8 + e.rng.IntN((size-EthHeader)*8)
		}
	}
}

// Flip flips bit i of b (bit 0 is the high bit of b[0]).
func Flip(b []byte, i int) { b[i/8] ^= 0x80 >> (i % 8) }
