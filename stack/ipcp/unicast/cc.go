package unicast

import (
	"sync"
	"time"

	"github.com/o7s/ouroboros/stack/ipcp/unicast/ca"
)

// congestion is an N+1 flow's congestion avoidance state (spec SYSTEM
// §8.10), under its own lock: the sender, the DT reader (ECN marks) and
// the flow allocator (FLOW_UPDATE) all reach it.
type congestion struct {
	mu sync.Mutex
	f  ca.Flow
}

func (c *congestion) init(pol uint8) {
	f, err := ca.Policy(pol).NewFlow(time.Now())
	if err != nil {
		f = ca.NopFlow{}
	}
	c.f = f
}

func (c *congestion) send(n int) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.f.Send(time.Now(), n)
}

func (c *congestion) receive(ecn uint8) (uint16, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.f.Receive(ecn)
}

func (c *congestion) update(ece uint16) {
	c.mu.Lock()
	c.f.Update(ece)
	c.mu.Unlock()
}
