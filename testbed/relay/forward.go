package relay

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync/atomic"
	"time"
)

// port is one side of a relay: frames are read from it in batches and
// written to it in batches. A read waits until at least one frame is there
// or the read deadline passes (os.ErrDeadlineExceeded).
type port interface {
	readBatch(bufs [][]byte, sizes []int) (int, error)
	writeBatch(frames [][]byte) (int, error)
	setReadDeadline(t time.Time) error
	close() error
}

// Limits of a direction.
const (
	// Batch is how many frames one system call moves at most.
	Batch = 64
	// MaxQueue is how many frames a direction holds at most (delayed,
	// reordered, waiting for the rate limit); a frame that arrives when
	// it is full is dropped and counted as a queue drop. 16384 frames
	// hold 20 ms of delay at 800k frames/s, which is more than the relay
	// forwards.
	MaxQueue = 16384
)

// pendingSet is a configuration the control socket hands to a direction;
// done is closed once the direction uses it.
type pendingSet struct {
	c    Config
	done chan struct{}
}

// direction forwards the frames read from in to out, through its engine
// and its delay queue, in one goroutine: nothing in it is shared but the
// pending configuration and the counters.
type direction struct {
	name    string
	in, out port
	eng     *Engine
	pending atomic.Pointer[pendingSet]
	cur     atomic.Pointer[Config] // the configuration in use, for show
	base    time.Time              // the clock's zero
	q       queue
	free    [][]byte // buffers not in use
	bufSize int
	bufs    int // buffers made so far (at most MaxQueue + 2 Batch)
	rbufs   [][]byte
	sizes   []int
	scratch [][]byte // read into when no buffer is free, to count the drops
	wframes [][]byte
	witems  []item
	dl      bool // a read deadline is set
	werrs   uint64
	rerrs   uint64
}

func newDirection(name string, in, out port, bufSize int) *direction {
	d := &direction{
		name: name, in: in, out: out, eng: NewEngine(Config{}), base: time.Now(),
		q: newQueue(MaxQueue), bufSize: bufSize,
		rbufs: make([][]byte, Batch), sizes: make([]int, Batch),
		wframes: make([][]byte, 0, Batch), witems: make([]item, 0, Batch),
	}
	d.cur.Store(&Config{})
	return d
}

func (d *direction) now() int64 { return int64(time.Since(d.base)) }

// buf takes a free buffer, or makes one while fewer than the limit exist;
// nil when none is left.
func (d *direction) buf() []byte {
	if n := len(d.free); n > 0 {
		b := d.free[n-1]
		d.free = d.free[:n-1]
		return b
	}
	if d.bufs >= MaxQueue+2*Batch {
		return nil
	}
	d.bufs++
	return make([]byte, d.bufSize)
}

// set hands a configuration to the direction and waits until it uses it.
func (d *direction) set(c Config, timeout time.Duration) error {
	p := &pendingSet{c: c, done: make(chan struct{})}
	d.pending.Store(p)
	d.in.setReadDeadline(time.Now()) // wake a read that waits
	select {
	case <-p.done:
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("%s: the relay did not take the change within %v", d.name, timeout)
	}
}

// run forwards until in or out is closed.
func (d *direction) run() error {
	var v Verdict
	for {
		if p := d.pending.Swap(nil); p != nil {
			d.eng.Set(p.c)
			c := p.c
			d.cur.Store(&c)
			d.dl = true // the wake-up deadline is set
			close(p.done)
		}
		if err := d.release(d.now()); err != nil {
			return err
		}
		switch {
		case d.q.len() > 0:
			d.in.setReadDeadline(d.base.Add(time.Duration(d.q.head().at)))
			d.dl = true
		case d.dl:
			d.in.setReadDeadline(time.Time{})
			d.dl = false
		}
		if d.pending.Load() != nil { // set after the deadline was: take it first
			continue
		}
		// Fill the read buffers; with none free, read into scratch to
		// count what is dropped.
		bufs := d.rbufs
		for i := range bufs {
			if bufs[i] == nil {
				bufs[i] = d.buf()
			}
			if bufs[i] == nil {
				bufs = bufs[:i]
				break
			}
		}
		full := len(bufs) == 0
		if full {
			if d.scratch == nil {
				d.scratch = make([][]byte, Batch)
				for i := range d.scratch {
					d.scratch[i] = make([]byte, d.bufSize)
				}
			}
			bufs = d.scratch
		}
		n, err := d.in.readBatch(bufs, d.sizes)
		switch {
		case err == nil:
		case errors.Is(err, os.ErrDeadlineExceeded):
			continue
		case errors.Is(err, net.ErrClosed), errors.Is(err, os.ErrClosed), errors.Is(err, io.EOF):
			return nil
		default:
			// ENETDOWN while an end is down, and the like: the socket
			// reports it once and works again when the link is back.
			d.rerrs++
			if d.rerrs == 1 || d.rerrs%1000 == 0 {
				fmt.Fprintf(os.Stderr, "relay: %s: read: %v (%d errors)\n", d.name, err, d.rerrs)
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		now := d.now()
		for i := range n {
			size := d.sizes[i]
			if full {
				d.eng.c.received.Add(1)
				d.eng.c.queueDrops.Add(1)
				continue
			}
			if size > d.bufSize {
				d.eng.c.received.Add(1)
				d.eng.c.oversize.Add(1)
				continue
			}
			d.eng.Decide(size, now, &v)
			for c := range v.Copies {
				b := bufs[i]
				if c == 1 { // the copy
					b = d.buf()
					if b == nil || d.q.len() >= MaxQueue {
						d.eng.c.queueDrops.Add(1)
						if b != nil {
							d.free = append(d.free, b)
						}
						break
					}
					copy(b, bufs[i][:size])
				} else if d.q.len() >= MaxQueue {
					d.eng.c.queueDrops.Add(1)
					break
				} else {
					bufs[i] = nil // the queue owns it now
				}
				if v.Flip[c] >= 0 {
					Flip(b, v.Flip[c])
				}
				d.q.push(v.At[c], b, size)
			}
		}
	}
}

// release writes the frames due at now, in batches.
func (d *direction) release(now int64) error {
	for d.q.len() > 0 && d.q.head().at <= now {
		d.wframes, d.witems = d.wframes[:0], d.witems[:0]
		for d.q.len() > 0 && d.q.head().at <= now && len(d.wframes) < Batch {
			it := d.q.pop()
			d.wframes = append(d.wframes, it.buf[:it.n])
			d.witems = append(d.witems, it)
		}
		n, err := d.out.writeBatch(d.wframes)
		d.eng.c.passed.Add(uint64(n))
		for i := range d.witems {
			d.free = append(d.free, d.witems[i].buf)
			d.witems[i] = item{}
		}
		for i := range d.wframes {
			d.wframes[i] = nil
		}
		if err != nil {
			if errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrClosed) {
				return err
			}
			d.werrs++ // the frames are lost, as on a wire that is down
		}
	}
	return nil
}
