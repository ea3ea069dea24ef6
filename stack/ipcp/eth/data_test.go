package eth

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/stack/ipcp/eth/ethtest"
	"github.com/o7s/ouroboros/stack/qos"
	"github.com/o7s/ouroboros/stack/seqpkt"
)

type nopIRM struct{}

func (nopIRM) FlowReqArr(context.Context, uint32, []byte, qos.Spec, time.Duration, []byte) (ipcp.Flow, error) {
	return ipcp.Flow{}, ipcp.ErrUnknownFlow
}
func (nopIRM) FlowAllocReply(ipcp.FlowKey, error, time.Duration, []byte) {}
func (nopIRM) FlowDeallocated(ipcp.FlowKey)                              {}

// quiet is an IPCP set up on a hub port without its goroutines, so a test
// can drive each step of the data path itself.
func quiet(t *testing.T, hub *ethtest.Hub, typ ipcp.Type) (*IPCP, *ethtest.Port) {
	t.Helper()
	p := New(typ, 1, nopIRM{}, nil, nil)
	port := hub.NewPort("q", 1500)
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.setup(port, ipcp.EthConfig{Dev: "q", Ethertype: ipcp.DefaultEthertype}, ipcp.SHA3_256); err != nil {
		t.Fatal(err)
	}
	p.state = ipcp.StateOperational
	t.Cleanup(func() { p.Close(); port.Close() })
	return p, port
}

// activeFlow enters an active flow to raddr with the peer's id rid.
func activeFlow(t *testing.T, p *IPCP, raddr MAC, rid uint16) (*flow, *seqpkt.Conn) {
	t.Helper()
	node, app, err := seqpkt.Pair()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Close() })
	p.mu.Lock()
	defer p.mu.Unlock()
	f, err := p.newFlow(ipcp.Flow{Key: ipcp.FlowKey{ID: 1, Serial: 1}, End: node}, raddr, stActive)
	if err != nil {
		t.Fatal(err)
	}
	f.rid = rid
	f.active.Store(true)
	return f, app
}

// TestDataPathDoesNotAllocate runs one SDU through every step between two
// applications: the pump's read, header and batch to the link, the hub, the reader's parse and demultiplexing, and the write to
// the receiving flow.
func TestDataPathDoesNotAllocate(t *testing.T) {
	for _, typ := range []ipcp.Type{ipcp.EthDIX, ipcp.EthLLC} {
		t.Run(typ.String(), func(t *testing.T) {
			hub := ethtest.NewHub()
			a, portA := quiet(t, hub, typ)
			b, portB := quiet(t, hub, typ)
			fa, appA := activeFlow(t, a, MAC(portB.MAC()), firstID(b))
			_, appB := activeFlow(t, b, MAC(portA.MAC()), fa.lid)
			sdu := bytes.Repeat([]byte{0x5a}, 1000)
			frames := make([][]byte, 1)
			bufs, sizes := [][]byte{make([]byte, b.frameLen)}, []int{0}
			out := make([]byte, 2048)
			pks := make([]*packet, 0, BatchSize)
			var spare *packet
			step := func() {
				appA.Write(sdu)
				pks, spare, _, _ = a.readBatch(fa, pks, spare)
				if len(pks) != 1 {
					t.Fatalf("read %d SDUs, want 1", len(pks))
				}
				frames[0] = pks[0].buf[:pks[0].n]
				a.send(frames)
				a.putPacket(pks[0])
				pks[0], pks = nil, pks[:0]
				portB.ReadBatch(bufs, sizes)
				b.input(bufs[0][:sizes[0]])
				appB.Read(out)
			}
			step()
			if n := testing.AllocsPerRun(1000, step); n != 0 {
				t.Errorf("allocations per SDU = %v, want 0", n)
			}
			if got := b.Stats.RxSDUs.Load(); got != 1002 {
				t.Errorf("b delivered %d SDUs, want 1002", got)
			}
		})
	}
}

func firstID(p *IPCP) uint16 {
	if p.llc {
		return firstSAP
	}
	return firstEID
}

// The receive side alone, frame by frame, without the hub.
func TestInputDoesNotAllocate(t *testing.T) {
	for _, typ := range []ipcp.Type{ipcp.EthDIX, ipcp.EthLLC} {
		t.Run(typ.String(), func(t *testing.T) {
			p, _ := quiet(t, ethtest.NewHub(), typ)
			f, app := activeFlow(t, p, macB, 9)
			frame := make([]byte, p.hl+1400)
			if p.llc {
				LLCHeader(frame).Put(p.mac, macB, uint8(f.lid), 9, 1400)
			} else {
				DIXHeader(frame).Put(p.mac, macB, p.ethertype, f.lid, 1400)
			}
			out := make([]byte, 2048)
			if n := testing.AllocsPerRun(1000, func() { p.input(frame); app.Read(out) }); n != 0 {
				t.Errorf("allocations per frame = %v, want 0", n)
			}
			if p.Stats.RxSDUs.Load() != 1001 {
				t.Errorf("delivered %d SDUs, want 1001", p.Stats.RxSDUs.Load())
			}
		})
	}
}

func (nopIRM) FlowState(ipcp.FlowKey, bool) {}
