package unicast

import (
	"errors"
	"sync/atomic"

	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/stack/ipcp/unicast/ca"
	"github.com/o7s/ouroboros/stack/ipcp/unicast/dt"
	"github.com/o7s/ouroboros/stack/qos"
)

const (
	dtFAEID  = dt.FAEID
	dtDHTEID = dt.DHTEID
)

var (
	errNoRoute = errors.New("unicast: no route to the destination")
	errSelf    = errors.New("unicast: the destination is this IPCP")
)

// Counters of the data path, for tests and inspection.
type counters struct {
	forwarded, delivered, ttlDrops, noRoute, malformed, full atomic.Uint64
	// schedFull: packets from an in-process lower flow (input) that a
	// lower cube's full scheduler queue dropped.
	schedFull atomic.Uint64
}

// dtReader reads one N-1 data-transfer flow through the packet scheduler,
// which forwards or delivers every packet. When the flow ends, the
// connection goes.
func (p *IPCP) dtReader(c *conn) {
	defer p.wg.Done()
	err := p.sched.read(c.lf.Conn, c.cube, &c.rx)
	if p.ctx.Err() == nil {
		p.log.Info("data-transfer flow ended", "peer", AddrString(c.peer), "err", err)
		go p.removeConn(c)
	}
}

// input is the receiver of a data-transfer flow with an attached port: the
// lower IPCP calls it on its reader's goroutine with each packet, in its
// buffer, which receive changes in place and does not keep. It is
// dtReader's loop body for such a flow, but never waits.
func (p *IPCP) input(c *conn, pkt []byte) {
	c.rx.Add(1)
	if !p.sched.push(pkt, c.cube) {
		p.stats.schedFull.Add(1)
	}
}

// receive handles a packet from an N-1 flow (spec SYSTEM §8.3): the TTL is
// decremented in place; a packet for another address is forwarded unless
// its TTL ran out, one for us goes to the component or flow its endpoint
// id names.
func (p *IPCP) receive(pkt []byte) {
	h, sdu, err := dt.ParseHeader(pkt)
	if err != nil {
		p.stats.malformed.Add(1)
		return
	}
	ttl := h.DecTTL()
	if h.Dst() != p.addr {
		if ttl == 0 {
			p.stats.ttlDrops.Add(1)
			return
		}
		c := p.nextHop(uint64(h.Dst()))
		if c == nil {
			p.stats.noRoute.Add(1)
			return
		}
		if p.cong == ipcp.CongMBECN {
			h.OrECN(mark(c, len(pkt)))
		}
		if c.tryWrite(pkt) != nil {
			p.stats.full.Add(1)
			return
		}
		p.stats.forwarded.Add(1)
		return
	}
	p.stats.delivered.Add(1)
	switch eid := h.EID(); {
	case eid >= dt.MinFlowEID:
		p.fa.deliver(eid, h.ECN(), sdu)
	case eid == dtFAEID:
		p.fa.handle(sdu)
	case eid == dtDHTEID:
		if err := p.dht.Handle(0, sdu); err != nil {
			p.log.Debug("directory message dropped", "err", err)
		}
	}
}

// mark is the congestion mark of a hop (spec SYSTEM §8.10): the packets
// queued on the outgoing flow, divided by 16. Through a port that is the
// lower IPCP's queue to its link. Through the channel, the kernel counts
// the queue in the memory its buffers take (skb truesize), not in bytes of
// payload: queued counts that memory in packets of this size.
func mark(c *conn, size int) uint8 {
	if c.port != nil {
		return ca.Mark(c.port.Queued())
	}
	return ca.Mark(c.lf.Conn.Unsent() / truesize(size))
}

// tryWrite hands pkt to the flow without waiting.
func (c *conn) tryWrite(pkt []byte) error {
	if c.port != nil {
		return c.port.TrySend(pkt)
	}
	return c.lf.Conn.TryWrite(pkt)
}

// write hands pkt to the flow, waiting while it is full.
func (c *conn) write(pkt []byte) error {
	if c.port != nil {
		return c.port.Send(pkt)
	}
	return c.lf.Conn.Write(pkt)
}

// truesize is what the kernel charges a unix socket for a packet of n
// bytes on this platform (measured: 768 up to 256 bytes, then 768 plus the
// payload in 512-byte steps).
func truesize(n int) int {
	if n <= 256 {
		return 768
	}
	return 768 + (n+511)/512*512
}

func (p *IPCP) nextHop(dst uint64) *conn {
	fd, ok := p.pff.NextHop(dst)
	if !ok {
		return nil
	}
	return (*p.dt.Load())[fd]
}

// write sends pkt, whose first dt.HeaderLen bytes are room for the PCI, to
// endpoint eid at address dst (dt_write_packet).
func (p *IPCP) write(dst uint64, qc qos.Cube, eid uint64, pkt []byte) error {
	if dst == uint64(p.addr) {
		return errSelf
	}
	c := p.nextHop(dst)
	if c == nil {
		p.stats.noRoute.Add(1)
		return errNoRoute
	}
	var ecn uint8
	if p.cong == ipcp.CongMBECN {
		ecn = mark(c, len(pkt))
	}
	dt.Header(pkt).Put(uint32(dst), qc, p.maxTTL, ecn, eid)
	return c.write(pkt)
}

// sendComp sends a component's message (FA, DHT) on cube BE.
func (p *IPCP) sendComp(dst uint64, eid uint64, msg []byte) error {
	pkt := make([]byte, dt.HeaderLen+len(msg))
	copy(pkt[dt.HeaderLen:], msg)
	return p.write(dst, qos.CubeBE, eid, pkt)
}
