package broadcast

import (
	"errors"
	"os"
	"sync"
	"sync/atomic"

	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/stack/seqpkt"
)

// member is one flow of the forwarding set: an N-1 data-transfer flow to a
// neighbour, or a joined application flow.
type member struct {
	end  *seqpkt.Conn   // the IPCP's end
	nb   bool           // a neighbour (lf is set), not a joined flow (key is)
	lf   ipcp.LowerFlow // neighbours
	dst  string         // the name a neighbour was reached by; empty if it connected to us
	key  ipcp.FlowKey   // joined flows
	up   atomic.Bool    // false while the layer under a neighbour is down
	gone bool           // a joined flow whose application hung up (guarded by the IPCP's mu)
	big  atomic.Bool    // an oversized SDU from it was logged
	once sync.Once
}

func (m *member) close() { m.once.Do(func() { m.end.Close() }) }

// flow is the node's flow id of the member.
func (m *member) flow() int {
	if m.nb {
		return m.lf.ID
	}
	return m.key.ID
}

// publish replaces the forwarding set with the current members; p.mu is
// held.
func (p *IPCP) publish() {
	s := make([]*member, 0, len(p.nbs)+len(p.joined))
	s = append(s, p.nbs...)
	for _, m := range p.joined {
		if !m.gone {
			s = append(s, m)
		}
	}
	p.set.Store(&s)
}

// reader reads one member and forwards every SDU it reads. When the flow
// ends, the member leaves the set.
func (p *IPCP) reader(m *member) {
	defer p.wg.Done()
	buf := make([]byte, MTU)
	for {
		n, err := m.end.Read(buf)
		if err != nil {
			if p.ctx.Err() != nil || errors.Is(err, os.ErrClosed) {
				return // Close, FlowDealloc or Disconnect closed it
			}
			if m.nb {
				p.log.Info("data-transfer flow ended", "flow", m.lf.ID, "dst", m.dst, "err", err)
				p.removeConn(m)
			} else {
				p.log.Debug("joined flow ended", "flow", m.key.ID, "err", err)
				p.leave(m)
			}
			return
		}
		if n > MTU {
			p.stats.oversized.Add(1)
			if !m.big.Swap(true) {
				p.log.Warn("SDU over the broadcast MTU dropped (counted from now on, not logged)", "size", n, "mtu", MTU, "flow", m.flow(), "neighbour", m.nb)
			}
			continue
		}
		p.forward(m, buf[:n])
	}
}

// forward writes sdu to every member of the set but src, without waiting:
// a full queue loses the copy.
func (p *IPCP) forward(src *member, sdu []byte) {
	p.stats.received.Add(1)
	for _, m := range *p.set.Load() {
		if m == src {
			continue
		}
		if !m.up.Load() {
			p.stats.down.Add(1)
			continue
		}
		if m.end.TryWrite(sdu) != nil {
			p.stats.dropped.Add(1)
			continue
		}
		p.stats.forwarded.Add(1)
	}
}

// leave takes a joined flow whose application hung up out of the set; it
// stays known until the IRM deallocates it.
func (p *IPCP) leave(m *member) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.joined[m.key.ID] == m && !m.gone {
		m.gone = true
		p.publish()
	}
}
