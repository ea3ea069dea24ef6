package dev

import (
	"time"
)

// Keepalives and peer liveness (spec APP §2.11): a flow whose QoS has a
// peer timeout sends an empty packet when it sent nothing for a quarter of
// it, and a flow that received nothing for the whole of it (keepalives
// count) while nothing waits to be read is marked EventPeer: its reads
// return what is queued and then ErrFlowPeer, its writes ErrFlowPeer. The
// mark is sticky.

// keepaliveTick bounds how often the keepalive goroutine looks at the
// flows, and how late it can notice a silent peer.
const (
	keepaliveMinTick = 20 * time.Millisecond
	keepaliveMaxTick = time.Second
)

// keepalive runs until the client closes.
func (c *Client) keepalive() {
	t := time.NewTimer(keepaliveMaxTick)
	defer t.Stop()
	var fls []*Flow
	for {
		select {
		case <-t.C:
		case <-c.done:
			return
		}
		c.mu.Lock()
		fls = fls[:0]
		for f := range c.flows {
			fls = append(fls, f)
		}
		c.mu.Unlock()
		tick := keepaliveMaxTick
		for _, f := range fls {
			if to := f.checkLiveness(); to > 0 {
				tick = min(tick, max(to/8, keepaliveMinTick))
			}
		}
		t.Reset(tick)
	}
}

// checkLiveness sends a keepalive when one is due and marks a silent peer;
// it returns the flow's peer timeout (0: none).
func (f *Flow) checkLiveness() time.Duration {
	to := time.Duration(f.qos.Timeout) * time.Millisecond
	if to == 0 || f.closed.Load() || f.peerDead.Load() {
		return 0
	}
	t := now()
	if time.Duration(t-f.lastSend.Load()) >= to/4 && f.liveErr() == nil && !f.kaOff.Load() {
		if f.conn.TryWrite(nil) == nil {
			f.sent()
		}
	}
	if time.Duration(t-f.lastRecv.Load()) > to && !f.queued() {
		f.setPeerDead()
	}
	return to
}

// queued tells whether a packet waits to be read from the node (always
// false for a flow with FRCT: its receiver reads every packet at once).
func (f *Flow) queued() bool {
	if f.fr != nil {
		return false
	}
	return f.conn.Queued()
}
