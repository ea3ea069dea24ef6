package udp

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"golang.org/x/net/ipv4"

	"github.com/o7s/ouroboros/stack/seqpkt"
)

// packet is a pooled send buffer: EIDLen bytes of headroom for the eid,
// then the SDU. Whoever holds one puts it back exactly once.
type packet struct {
	buf [MaxPacket4]byte // the larger of the two maxima
}

var packets = sync.Pool{New: func() any { return new(packet) }}

// reader receives datagrams in batches and delivers them, until the
// socket closes.
func (p *IPCP) reader(r receiver) {
	defer p.wg.Done()
	full := 0 // reads that filled the batch
	for {
		n, err := r.read()
		if err != nil {
			if p.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			p.Stats.ReadErrors.Add(1)
			continue
		}
		for i := range n {
			p.deliver(r.datagram(i))
		}
		if n == r.batch() && n < Batch {
			if full++; full == growAfter {
				r.grow() // the socket is busy: take up to Batch from now on
			}
		}
	}
}

// deliver hands one received datagram to its flow, or to mgmt. It never
// waits: a full flow drops the SDU.
func (p *IPCP) deliver(b []byte, from netip.AddrPort) {
	eid, sdu, err := ParseEID(b)
	switch {
	case err != nil:
		p.Stats.DropShort.Add(1)
		return
	case len(b) > p.maxPacket:
		p.Stats.DropTooLong.Add(1)
		return
	case eid == MgmtEID:
		p.mgmt(b, from)
		return
	case eid >= MaxFlows:
		p.Stats.DropUnknownEID.Add(1)
		return
	}
	f := p.demux.Load(eid)
	if f == nil {
		p.Stats.DropUnknownEID.Add(1)
		return
	}
	if from.Addr().Unmap() != f.peer.Addr().Unmap() { // a stale flow of another host's
		p.Stats.DropWrongPeer.Add(1)
		return
	}
	if rx := f.rx.Load(); rx != nil { // an attached port (port.go)
		p.Stats.RxPackets.Add(1)
		(*rx)(sdu)
		return
	}
	switch err := f.end.TryWrite(sdu); {
	case err == nil:
		p.Stats.RxPackets.Add(1)
	case errors.Is(err, seqpkt.ErrWouldBlock):
		p.Stats.DropFull.Add(1)
	default:
		p.Stats.DropClosed.Add(1)
	}
}

// sender is a flow writer's batch: pooled packets and the messages that
// point into them, allocated once per flow.
type sender struct {
	p    *IPCP
	f    *flow
	n    int
	pkts [Batch]*packet
	bufs [Batch][1][]byte // msgs[i].Buffers
	msgs [Batch]ipv4.Message
}

func newSender(p *IPCP, f *flow) *sender {
	s := &sender{p: p, f: f}
	for i := range s.msgs {
		s.msgs[i].Buffers = s.bufs[i][:]
		s.msgs[i].Addr = f.raddr
	}
	return s
}

// writer sends the flow's SDUs until its end closes, then lets go of it.
func (p *IPCP) writer(f *flow) {
	defer p.wg.Done()
	s := newSender(p, f)
	for {
		alive, flushed := s.fill()
		if s.n > 0 {
			s.flush()
		}
		if flushed { // for Attach (port.go): the channel's packets are out
			f.end.SetReadDeadline(time.Time{})
			close(f.flushed)
		}
		if !alive {
			break
		}
	}
	s.put(0)
	if p.release(f.key) {
		p.irm.FlowDeallocated(f.key)
	}
}

// fill waits for one SDU, then takes those already queued, up to Batch,
// each behind the peer's eid. alive is false when the flow has ended.
// flushed is true when Attach woke the wait (its deadline) and the batch
// holds everything the channel had: once it is sent, Attach may return.
func (s *sender) fill() (alive, flushed bool) {
	flush := false
	for s.n < Batch {
		if s.pkts[s.n] == nil {
			s.pkts[s.n] = packets.Get().(*packet)
		}
		pk := s.pkts[s.n]
		sdu := pk.buf[EIDLen:s.p.maxPacket]
		var n int
		var err error
		if s.n == 0 && !flush {
			n, err = s.f.end.Read(sdu)
		} else {
			n, err = s.f.end.TryRead(sdu)
		}
		if err != nil && !flush && errors.Is(err, os.ErrDeadlineExceeded) && s.f.attached.Load() {
			flush = true // take what is queued without waiting
			continue
		}
		if err != nil || n == 0 && s.p.demux.Load(s.f.eid) != s.f {
			// Would block, or the end: send what we have. seqpkt may
			// return (0, nil) when release closes the end during a read
			// that saw the peer's EOF; the flow is gone by then.
			wouldBlock := errors.Is(err, seqpkt.ErrWouldBlock)
			return wouldBlock || s.n > 0, flush && wouldBlock
		}
		if n > len(sdu) {
			s.p.Stats.DropOversize.Add(1)
			continue
		}
		PutEID(pk.buf[:EIDLen], s.f.reid)
		s.bufs[s.n][0] = pk.buf[:EIDLen+n]
		s.n++
	}
	return true, false
}

// flush sends the batch; a datagram the kernel refuses is counted and
// skipped. It keeps the first packet for the next blocking read.
func (s *sender) flush() {
	for sent := 0; sent < s.n; {
		k, err := s.p.bc.WriteBatch(s.msgs[sent:s.n], 0)
		sent += k
		s.p.Stats.TxPackets.Add(uint64(k))
		if err != nil {
			s.p.Stats.DropSendErr.Add(1)
			sent++
		}
	}
	s.put(1)
	s.n = 0
}

// put returns the packets from index i on to the pool.
func (s *sender) put(i int) {
	for ; i < Batch; i++ {
		if s.pkts[i] != nil {
			packets.Put(s.pkts[i])
			s.pkts[i] = nil
			s.bufs[i][0] = nil
		}
	}
}
