package eth

import (
	"errors"
	"net"
	"os"
	"sync/atomic"
	"time"

	"github.com/o7s/ouroboros/stack/seqpkt"
)

// Stats counts frames, SDUs and every kind of drop. Fields only grow.
type Stats struct {
	RxFrames atomic.Uint64 // frames read from the link
	TxFrames atomic.Uint64 // frames the link took
	TxWrites atomic.Uint64 // link write calls (TxFrames/TxWrites is the batch size)
	RxSDUs   atomic.Uint64 // SDUs written to N+1 flows
	TxSDUs   atomic.Uint64 // SDUs read from N+1 flows and queued for the link
	RxMgmt   atomic.Uint64 // management frames read
	TxMgmt   atomic.Uint64 // management frames queued

	DropTooLong     atomic.Uint64 // SDU longer than the layer carries, at send
	DropTooBig      atomic.Uint64 // frame longer than 14 + MTU, at receive
	DropTruncated   atomic.Uint64 // frame shorter than its header or its length field
	DropEthertype   atomic.Uint64 // DIX: another ethertype; LLC: a DIX frame
	DropBadLLC      atomic.Uint64 // LLC: length below 3 or not a UI frame
	DropOtherHost   atomic.Uint64 // unicast to another address
	DropUnknownEID  atomic.Uint64 // no open flow for the endpoint id or DSAP
	DropWrongSAP    atomic.Uint64 // LLC: SSAP or source MAC not the flow's peer; DIX: source MAC not the peer's
	DropFlowFull    atomic.Uint64 // the N+1 flow did not take the SDU
	DropTxFull      atomic.Uint64 // a port's TrySend found the link's queue full
	DropMgmt        atomic.Uint64 // management frame malformed, unexpected or queue full
	DropFlowReq     atomic.Uint64 // FLOW_REQ while maxFlowReqs wait for acceptors
	DropLinkTX      atomic.Uint64 // frames the link failed to send
	LinkDown        atomic.Uint64 // carrier losses
	LinkUp          atomic.Uint64 // carrier returns
	LinkReadErrors  atomic.Uint64 // failed link reads
	LinkWriteErrors atomic.Uint64 // failed link writes
}

// packet is a pooled frame buffer. The SDU is read into it behind the
// header's room, then the header is written in front: nothing is copied.
type packet struct {
	buf []byte // frameLen bytes
	n   int    // frame length
}

func (p *IPCP) getPacket() *packet   { return p.pool.Get().(*packet) }
func (p *IPCP) putPacket(pk *packet) { pk.n = 0; p.pool.Put(pk) }

// pump moves SDUs from a flow's node end to the link until the end
// closes: it waits for one SDU, takes what else the application has queued
// (up to BatchSize), and writes them to the link itself, in one call, so
// an SDU crosses no other goroutine on its way out. An SDU longer than the
// layer carries is dropped and counted.
func (p *IPCP) pump(f *flow) {
	defer p.wg.Done()
	pks := make([]*packet, 0, BatchSize)
	frames := make([][]byte, 0, BatchSize)
	var spare *packet // read into and not used: kept for the next round
	defer func() {
		if spare != nil {
			p.putPacket(spare)
		}
	}()
	for {
		var alive, flushed bool
		pks, spare, alive, flushed = p.readBatch(f, pks, spare)
		if len(pks) > 0 {
			for _, pk := range pks {
				frames = append(frames, pk.buf[:pk.n])
			}
			p.Stats.TxSDUs.Add(uint64(len(pks)))
			p.send(frames)
			for i, pk := range pks {
				p.putPacket(pk)
				pks[i], frames[i] = nil, nil
			}
			pks, frames = pks[:0], frames[:0]
		}
		if flushed { // for Attach (port.go): the channel's packets are out
			f.end.SetReadDeadline(time.Time{})
			close(f.flushed)
		}
		if !alive {
			break
		}
	}
	if p.release(f.key) { // the application closed its end
		p.irm.FlowDeallocated(f.key)
	}
}

// readBatch reads SDUs into framed packets: the first one waiting, the
// rest only while more are queued. It returns the packet it found nothing
// for, to be passed in again; alive is false once the end is closed.
// flushed is true when Attach woke the read (its deadline) and the batch
// holds everything the channel had: once it is sent, Attach may return.
func (p *IPCP) readBatch(f *flow, pks []*packet, spare *packet) (_ []*packet, _ *packet, alive, flushed bool) {
	flush := false
	for len(pks) < cap(pks) {
		pk := spare
		if pk == nil {
			pk = p.getPacket()
		}
		spare = nil
		var n int
		var err error
		if len(pks) == 0 && !flush {
			n, err = f.end.Read(pk.buf[p.hl : p.hl+p.maxSDU])
		} else {
			n, err = f.end.TryRead(pk.buf[p.hl : p.hl+p.maxSDU])
		}
		if err != nil {
			if !flush && errors.Is(err, os.ErrDeadlineExceeded) && f.attached.Load() {
				flush, spare = true, pk // take what is queued without waiting
				continue
			}
			wouldBlock := errors.Is(err, seqpkt.ErrWouldBlock)
			return pks, pk, wouldBlock, flush && wouldBlock
		}
		if n > p.maxSDU {
			p.Stats.DropTooLong.Add(1)
			spare = pk
			continue
		}
		pk.n = p.encode(pk.buf, f, n)
		pks = append(pks, pk)
	}
	return pks, spare, true, false
}

// encode writes the data header in front of an n-byte SDU at b[hl:] and
// returns the frame length.
func (p *IPCP) encode(b []byte, f *flow, n int) int {
	if p.llc {
		LLCHeader(b).Put(f.raddr, p.mac, uint8(f.rid), uint8(f.lid), n)
	} else {
		DIXHeader(b).Put(f.raddr, p.mac, p.ethertype, f.rid, uint16(n))
	}
	return p.hl + n
}

// writer sends the queued frames in batches: management frames (tx) and
// the data the ports queued (dq). It waits for one, takes what else is
// queued up to BatchSize, management first, and writes them in one call.
func (p *IPCP) writer() {
	defer p.wg.Done()
	pks := make([]*packet, 0, BatchSize)
	frames := make([][]byte, 0, BatchSize)
	for {
		select {
		case pk := <-p.tx:
			pks = append(pks, pk)
		case pk := <-p.dq:
			pks = append(pks, pk)
		case <-p.ctx.Done():
			return
		}
	fill:
		for len(pks) < BatchSize {
			select {
			case pk := <-p.tx:
				pks = append(pks, pk)
				continue
			default:
			}
			select {
			case pk := <-p.dq:
				pks = append(pks, pk)
			default:
				break fill
			}
		}
		for _, pk := range pks {
			frames = append(frames, pk.buf[:pk.n])
		}
		p.send(frames)
		for i, pk := range pks {
			p.putPacket(pk)
			pks[i], frames[i] = nil, nil
		}
		pks, frames = pks[:0], frames[:0]
	}
}

// send writes frames to the link; a frame the link refuses is counted and
// skipped.
func (p *IPCP) send(frames [][]byte) {
	for off := 0; off < len(frames); {
		n, err := p.link.WriteBatch(frames[off:])
		p.Stats.TxWrites.Add(1)
		p.Stats.TxFrames.Add(uint64(n))
		off += n
		switch {
		case err == nil && n == 0:
			p.Stats.DropLinkTX.Add(uint64(len(frames) - off))
			return
		case errors.Is(err, net.ErrClosed):
			p.Stats.DropLinkTX.Add(uint64(len(frames) - off))
			return
		case err != nil:
			p.Stats.LinkWriteErrors.Add(1)
			p.Stats.DropLinkTX.Add(1)
			off++
		}
	}
}

// firstBatch is how many frames the reader takes per call at first.
// growAfter reads that fill them all (frames were waiting: the link is
// busy, or has been) take it to BatchSize, for good; a link that carries
// only management traffic and the odd burst of it keeps firstBatch
// buffers.
const (
	firstBatch = 8
	growAfter  = 64
)

// frameBuffers returns n buffers of size bytes, in one block.
func frameBuffers(n, size int) [][]byte {
	mem := make([]byte, n*size)
	bufs := make([][]byte, n)
	for i := range bufs {
		bufs[i] = mem[i*size : (i+1)*size : (i+1)*size]
	}
	return bufs
}

// reader reads frames in batches and hands each to input. Its buffers are
// allocated at the start, firstBatch of them, and the rest of BatchSize
// once growAfter reads have filled those.
func (p *IPCP) reader() {
	defer p.wg.Done()
	bufs := frameBuffers(firstBatch, p.frameLen)
	sizes := make([]int, BatchSize)
	full := 0 // reads that filled bufs
	for {
		n, err := p.link.ReadBatch(bufs, sizes)
		if err != nil {
			if errors.Is(err, net.ErrClosed) || p.ctx.Err() != nil {
				return
			}
			p.Stats.LinkReadErrors.Add(1)
			if !p.pause(10 * time.Millisecond) {
				return
			}
			continue
		}
		p.Stats.RxFrames.Add(uint64(n))
		for i := range n {
			if sizes[i] > len(bufs[i]) {
				p.Stats.DropTooBig.Add(1)
				continue
			}
			p.input(bufs[i][:sizes[i]])
		}
		if n == len(bufs) && n < BatchSize {
			if full++; full == growAfter {
				bufs = append(bufs, frameBuffers(BatchSize-n, p.frameLen)...)
			}
		}
	}
}

// pause waits d unless the IPCP closes first.
func (p *IPCP) pause(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-p.ctx.Done():
		return false
	}
}

// input handles one received frame.
func (p *IPCP) input(frame []byte) {
	if p.llc {
		p.inputLLC(frame)
	} else {
		p.inputDIX(frame)
	}
}

func (p *IPCP) inputDIX(frame []byte) {
	h, payload, err := ParseDIX(frame)
	switch {
	case err != nil:
		p.Stats.DropTruncated.Add(1)
		return
	case h.Ethertype() != p.ethertype:
		p.Stats.DropEthertype.Add(1)
		return
	case !p.forUs(h.Dst()):
		p.Stats.DropOtherHost.Add(1)
		return
	}
	eid := h.EID()
	if eid == MgmtEID {
		p.mgmtIn(h.Src(), payload)
		return
	}
	f := p.flowAt(eid)
	if f == nil || !f.active.Load() {
		p.Stats.DropUnknownEID.Add(1)
		return
	}
	if f.raddr != h.Src() { // a DIX data frame names no source endpoint: check the peer
		p.Stats.DropWrongSAP.Add(1)
		return
	}
	p.deliver(f, payload)
}

func (p *IPCP) inputLLC(frame []byte) {
	h, payload, err := ParseLLC(frame)
	switch {
	case err == errNotLLC:
		p.Stats.DropEthertype.Add(1)
		return
	case err == errLLC:
		p.Stats.DropBadLLC.Add(1)
		return
	case err != nil:
		p.Stats.DropTruncated.Add(1)
		return
	case !p.forUs(h.Dst()):
		p.Stats.DropOtherHost.Add(1)
		return
	}
	dsap, ssap := h.DSAP(), h.SSAP()
	if dsap == MgmtSAP && ssap == MgmtSAP {
		p.mgmtIn(h.Src(), payload)
		return
	}
	f := p.flowAt(uint16(dsap))
	if f == nil || !f.active.Load() {
		p.Stats.DropUnknownEID.Add(1)
		return
	}
	if f.rid != uint16(ssap) || f.raddr != h.Src() {
		p.Stats.DropWrongSAP.Add(1)
		return
	}
	p.deliver(f, payload)
}

// forUs tells whether a frame to dst is ours: our address or a group
// address. The kernel filters this already unless the interface is
// promiscuous; the reference means to check it and does not.
func (p *IPCP) forUs(dst MAC) bool { return dst == p.mac || dst.Group() }

// deliver writes an SDU to a flow without waiting: when the flow's socket
// is full (or closing) the SDU is dropped, so one slow application does
// not hold the others' traffic. A flow with an attached port hands it to
// the upper IPCP's receiver instead, in the reader's buffer (port.go).
func (p *IPCP) deliver(f *flow, sdu []byte) {
	if rx := f.rx.Load(); rx != nil {
		p.Stats.RxSDUs.Add(1)
		(*rx)(sdu)
		return
	}
	if err := f.end.TryWrite(sdu); err != nil {
		p.Stats.DropFlowFull.Add(1)
		return
	}
	p.Stats.RxSDUs.Add(1)
}
