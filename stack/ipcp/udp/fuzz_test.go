package udp

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/o7s/ouroboros/stack/errs"
	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/stack/qos"
)

// quietIRM takes every report and finds an acceptor for no request.
type quietIRM struct{}

func (quietIRM) FlowReqArr(context.Context, uint32, []byte, qos.Spec, time.Duration, []byte) (ipcp.Flow, error) {
	return ipcp.Flow{}, errs.ErrName
}
func (quietIRM) FlowAllocReply(ipcp.FlowKey, error, time.Duration, []byte) {}
func (quietIRM) FlowDeallocated(ipcp.FlowKey)                              {}

// FuzzDeliver feeds any datagram, from the address of the peer of a
// pending and of an active flow, to the receive path of a live IPCP: it
// must neither panic nor stop serving.
func FuzzDeliver(f *testing.F) {
	f.Add(goldenReq)
	f.Add(goldenRawReq)
	f.Add(goldenReply)
	f.Add(append(AppendEIDForTest(1), "sdu"...))
	f.Add(AppendFlowReply(nil, 2, 7, 0, nil))
	f.Add([]byte{})
	irm := newFakeIRM()
	p := bootstrap(f, ipcp.UDP4, quietIRM{}, lo("127.0.0.1", 0), nil)
	p.Reg(srvHash)
	sink := listen(f, lo("127.0.0.1", 0))
	peer := sink.LocalAddr().(*net.UDPAddr).AddrPort()
	active, app := flowTo(f, p, irm, sink)
	p.AddStaticAddrPort(srvHash, peer)
	fl, _ := irm.pair(f)
	if err := p.FlowAlloc(context.Background(), fl, srvHash, nil); err != nil {
		f.Fatal(err)
	}
	buf := make([]byte, MaxPacket4+1)
	f.Fuzz(func(t *testing.T, b []byte) {
		p.deliver(b, peer)
		p.deliver(b, netip.AddrPort{})
		for { // keep the active flow's queue from filling
			if _, err := app.TryRead(buf); err != nil {
				break
			}
		}
	})
	if p.demux.Load(active.eid) != active {
		f.Fatal("a datagram ended the active flow")
	}
}

func (quietIRM) FlowState(ipcp.FlowKey, bool) {}
