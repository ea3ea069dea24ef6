package unicast

import (
	"sync"
	"time"

	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/stack/ipcp/unicast/ca"
)

// congestion is an N+1 flow's congestion avoidance state (spec SYSTEM
// §8.10), under its own lock: the sender, the DT reader (ECN marks) and
// the flow allocator (FLOW_UPDATE) all reach it. Under the nop policy
// (f nil) every call returns at once, without the lock or the clock.
type congestion struct {
	mu sync.Mutex
	f  ca.Flow
}

func (c *congestion) init(pol ipcp.Congestion) {
	if f, err := ca.Policy(pol).NewFlow(time.Now()); err == nil {
		if _, nop := f.(ca.NopFlow); !nop {
			c.f = f
		}
	}
}

func (c *congestion) send(n int) time.Duration {
	if c.f == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.f.Send(time.Now(), n)
}

func (c *congestion) receive(ecn uint8) (uint16, bool) {
	if c.f == nil {
		return 0, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.f.Receive(ecn)
}

func (c *congestion) update(ece uint16) {
	if c.f == nil {
		return
	}
	c.mu.Lock()
	c.f.Update(ece)
	c.mu.Unlock()
}
