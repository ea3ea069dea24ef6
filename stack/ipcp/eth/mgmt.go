package eth

import (
	"bytes"
	"context"
	"fmt"

	"github.com/o7s/ouroboros/stack/errs"
)

// mgmtFrame is a management message waiting for the management worker.
type mgmtFrame struct {
	src  MAC
	m    Mgmt
	body []byte // a copy: the reader's buffer is reused
}

// mgmtIn takes a management frame off the reader: a positive FLOW_REPLY
// opens its flow to data at once, everything else waits for the worker.
// The queue is bounded; when it is full the frame is dropped.
func (p *IPCP) mgmtIn(src MAC, payload []byte) {
	p.Stats.RxMgmt.Add(1)
	if len(payload) > MaxMgmtFrame {
		p.Stats.DropMgmt.Add(1)
		return
	}
	m, body, err := ParseMgmt(payload, p.llc)
	if err != nil || m.Code > NameQueryReply {
		p.Stats.DropMgmt.Add(1)
		return
	}
	if m.Code == FlowReply && m.Response == 0 {
		p.activate(src, &m)
	}
	select {
	case p.mgmtq <- &mgmtFrame{src: src, m: m, body: bytes.Clone(body)}:
	default:
		p.Stats.DropMgmt.Add(1)
	}
}

// mgmt is the management worker.
func (p *IPCP) mgmt() {
	defer p.wg.Done()
	for {
		select {
		case fr := <-p.mgmtq:
			p.handleMgmt(fr)
		case <-p.ctx.Done():
			return
		}
	}
}

func (p *IPCP) handleMgmt(fr *mgmtFrame) {
	if fr.m.Code != FlowReply && len(fr.body) < p.hashLen {
		p.Stats.DropMgmt.Add(1)
		return
	}
	switch fr.m.Code {
	case FlowReq:
		p.onFlowReq(fr)
	case FlowReply:
		p.onFlowReply(fr.src, &fr.m, fr.body)
	case NameQueryReq:
		hash := fr.body[:p.hashLen]
		if p.registered(hash) {
			p.sendMgmt(p.ctx, fr.src, &Mgmt{Code: NameQueryReply}, hash)
		}
	case NameQueryReply:
		p.learn(fr.body[:p.hashLen], fr.src)
	}
}

func (p *IPCP) registered(hash []byte) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.reg[string(hash)]
}

// onFlowReq starts a worker for a request for a name registered here; what
// follows the hash (the OAP request) goes to the IRM with it.
func (p *IPCP) onFlowReq(fr *mgmtFrame) {
	hash := fr.body[:p.hashLen]
	badID := fr.m.SEID == MgmtEID
	if p.llc {
		badID = fr.m.SSAP == MgmtSAP
	}
	if badID {
		p.Stats.DropMgmt.Add(1)
		return
	}
	if !p.registered(hash) {
		// Not (or no longer) here: say so, so that the requester forgets
		// its directory entry and tries elsewhere instead of timing out.
		p.Stats.DropMgmt.Add(1)
		r := Mgmt{Code: FlowReply, Response: errs.Code(errs.ErrName)}
		if p.llc {
			r.DSAP = fr.m.SSAP
		} else {
			r.DEID = fr.m.SEID
		}
		p.sendMgmt(p.ctx, fr.src, &r, nil)
		return
	}
	select {
	case p.reqs <- struct{}{}:
	default:
		p.Stats.DropFlowReq.Add(1)
		return
	}
	p.wg.Add(1)
	go p.flowReq(fr.src, fr.m, hash, fr.body[p.hashLen:])
}

// sendMgmt queues a management frame to dst: the message, then body.
func (p *IPCP) sendMgmt(ctx context.Context, dst MAC, m *Mgmt, body []byte) error {
	n := MgmtLen(p.llc) + len(body)
	if n > p.maxSDU {
		return fmt.Errorf("%w: management message of %d bytes, the layer carries %d", errs.ErrMsgSize, n, p.maxSDU)
	}
	pk := p.getPacket()
	b := m.Append(pk.buf[p.hl:p.hl], p.llc)
	b = append(b, body...)
	if p.llc {
		LLCHeader(pk.buf).Put(dst, p.mac, MgmtSAP, MgmtSAP, n)
	} else {
		DIXHeader(pk.buf).Put(dst, p.mac, p.ethertype, MgmtEID, uint16(n))
	}
	pk.n = p.hl + len(b)
	select {
	case p.tx <- pk:
		p.Stats.TxMgmt.Add(1)
		return nil
	case <-ctx.Done():
		p.putPacket(pk)
		return ctx.Err()
	case <-p.ctx.Done():
		p.putPacket(pk)
		return errClosed
	}
}
