// Package seqpkttest is an in-memory stand-in for a seqpkt socket pair, for
// tests that run in a testing/synctest bubble. A seqpkt.Conn waits on the
// netpoller, which a bubble does not see as durably blocked, and its
// deadlines pass in real time; a Conn of this package waits on a channel
// and its read deadline is a timer, so in a bubble a timeout of seconds
// passes at once.
package seqpkttest

import (
	"bytes"
	"os"
	"sync"
	"time"

	"github.com/o7s/ouroboros/stack/seqpkt"
)

// Conn is one end of a Pipe. As a seqpkt.Conn does, it keeps packet
// boundaries, returns a packet's full length when it did not fit (the rest
// is lost), fails a read whose deadline has passed even with a packet
// queued, returns seqpkt.ErrPeerClosed once the other end has closed and
// every packet it sent has been read, and os.ErrClosed after Close. Unlike
// one, a write never waits: the queue has no bound.
type Conn struct {
	peer *Conn

	mu       sync.Mutex // guards the fields below
	queue    [][]byte
	closed   bool          // Close was called on this end
	peerGone bool          // Close was called on the other end
	deadline time.Time     // of reads; zero for none
	changed  chan struct{} // closed and replaced on every change
}

// Pipe returns the two connected ends of a new in-memory flow.
func Pipe() (*Conn, *Conn) {
	a := &Conn{changed: make(chan struct{})}
	b := &Conn{changed: make(chan struct{}), peer: a}
	a.peer = b
	return a, b
}

// notify wakes the readers waiting on c; c.mu is held.
func (c *Conn) notify() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// Read reads one packet into b and returns its full length.
func (c *Conn) Read(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		switch {
		case c.closed:
			return 0, os.ErrClosed
		case !c.deadline.IsZero() && !time.Now().Before(c.deadline):
			return 0, os.ErrDeadlineExceeded
		case len(c.queue) > 0:
			p := c.queue[0]
			c.queue[0] = nil
			c.queue = c.queue[1:]
			copy(b, p)
			return len(p), nil
		case c.peerGone:
			return 0, seqpkt.ErrPeerClosed
		}
		changed, deadline := c.changed, c.deadline
		c.mu.Unlock()
		waitChange(changed, deadline)
		c.mu.Lock()
	}
}

// waitChange waits until changed is closed or the deadline passes.
func waitChange(changed <-chan struct{}, deadline time.Time) {
	if deadline.IsZero() {
		<-changed
		return
	}
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-changed:
	case <-t.C:
	}
}

// Write sends a copy of b as one packet.
func (c *Conn) Write(b []byte) error {
	c.mu.Lock()
	closed, peerGone := c.closed, c.peerGone
	c.mu.Unlock()
	switch {
	case closed:
		return os.ErrClosed
	case peerGone:
		return seqpkt.ErrPeerClosed
	}
	p := c.peer
	p.mu.Lock()
	defer p.mu.Unlock()
	p.queue = append(p.queue, bytes.Clone(b))
	p.notify()
	return nil
}

// SetReadDeadline bounds blocked and future reads; the zero time clears it.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deadline = t
	c.notify()
	return nil
}

// Close closes this end: its blocked and later calls return os.ErrClosed,
// and the other end reads seqpkt.ErrPeerClosed after the packets queued.
func (c *Conn) Close() error {
	c.mu.Lock()
	c.closed = true
	c.notify()
	c.mu.Unlock()
	p := c.peer
	p.mu.Lock()
	p.peerGone = true
	p.notify()
	p.mu.Unlock()
	return nil
}
