package eth

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/o7s/ouroboros/stack/errs"
	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/stack/ipcp/eth/ethtest"
)

// TestPortDataPathDoesNotAllocate runs one SDU through every step of the
// in-process path between two upper IPCPs: TrySend's copy, header and
// queue, the writer's batch to the link, the hub, the reader's parse and
// demultiplexing, and the attached receiver.
func TestPortDataPathDoesNotAllocate(t *testing.T) {
	for _, typ := range []ipcp.Type{ipcp.EthDIX, ipcp.EthLLC} {
		t.Run(typ.String(), func(t *testing.T) {
			hub := ethtest.NewHub()
			a, portA := quiet(t, hub, typ)
			b, portB := quiet(t, hub, typ)
			fa, _ := activeFlow(t, a, MAC(portB.MAC()), firstID(b))
			fb, _ := activeFlow(t, b, MAC(portA.MAC()), fa.lid)
			sdu := bytes.Repeat([]byte{0x5a}, 1000)
			got, bad := 0, 0
			rx := func(b []byte) {
				got++
				if !bytes.Equal(b, sdu) {
					bad++
				}
			}
			fb.rx.Store(&rx) // what Attach does once the pump has flushed
			pa := &port{p: a, f: fa}
			frames := make([][]byte, 1)
			bufs, sizes := [][]byte{make([]byte, b.frameLen)}, []int{0}
			step := func() {
				if err := pa.TrySend(sdu); err != nil {
					t.Fatal(err)
				}
				pk := <-a.dq
				frames[0] = pk.buf[:pk.n]
				a.send(frames)
				a.putPacket(pk)
				portB.ReadBatch(bufs, sizes)
				b.input(bufs[0][:sizes[0]])
			}
			step()
			if n := testing.AllocsPerRun(1000, step); n != 0 {
				t.Errorf("allocations per SDU = %v, want 0", n)
			}
			if got != 1002 || bad != 0 {
				t.Errorf("the receiver got %d SDUs (%d wrong), want 1002", got, bad)
			}
			if n := a.Stats.TxSDUs.Load(); n != 1002 {
				t.Errorf("TxSDUs = %d, want 1002", n)
			}
		})
	}
}

// TestPortQueueBounded: the ports' queue to the link holds txDataLen
// frames; TrySend then drops and counts, Send waits for room, and both
// fail once the flow is released, a waiting Send too. An SDU longer than
// the layer carries is refused and counted.
func TestPortQueueBounded(t *testing.T) {
	a, portA := quiet(t, ethtest.NewHub(), ipcp.EthDIX)
	fa, _ := activeFlow(t, a, macB, 9)
	_ = portA
	pt := &port{p: a, f: fa}
	sdu := make([]byte, 64)
	for i := range txDataLen {
		if err := pt.TrySend(sdu); err != nil {
			t.Fatalf("TrySend %d: %v", i, err)
		}
	}
	if n := pt.Queued(); n != txDataLen {
		t.Fatalf("Queued = %d, want %d", n, txDataLen)
	}
	if err := pt.TrySend(sdu); !errors.Is(err, ipcp.ErrPortFull) || a.Stats.DropTxFull.Load() != 1 {
		t.Fatalf("TrySend on a full queue = %v (%d drops), want ErrPortFull counted once", err, a.Stats.DropTxFull.Load())
	}
	done := make(chan error, 1)
	go func() { done <- pt.Send(sdu) }()
	select {
	case err := <-done:
		t.Fatalf("Send on a full queue returned %v at once, want it to wait", err)
	case <-time.After(20 * time.Millisecond):
	}
	a.putPacket(<-a.dq)
	if err := <-done; err != nil {
		t.Fatalf("Send once there is room = %v", err)
	}
	if err := pt.TrySend(make([]byte, a.maxSDU+1)); !errors.Is(err, errs.ErrMsgSize) || a.Stats.DropTooLong.Load() != 1 {
		t.Fatalf("TrySend of an SDU too long = %v (%d dropped), want ErrMsgSize counted", err, a.Stats.DropTooLong.Load())
	}
	go func() { done <- pt.Send(sdu) }()
	time.Sleep(10 * time.Millisecond)
	if !a.release(fa.key) {
		t.Fatal("release: the flow was not held")
	}
	if err := <-done; !errors.Is(err, ipcp.ErrPortClosed) {
		t.Fatalf("Send waiting when the flow went = %v, want ErrPortClosed", err)
	}
	for _, send := range []func([]byte) error{pt.Send, pt.TrySend} {
		if err := send(sdu); !errors.Is(err, ipcp.ErrPortClosed) {
			t.Fatalf("send after release = %v, want ErrPortClosed", err)
		}
	}
	if err := pt.Attach(func([]byte) {}); !errors.Is(err, ipcp.ErrPortClosed) {
		t.Fatalf("Attach after release = %v, want ErrPortClosed", err)
	}
	for len(a.dq) > 0 {
		a.putPacket(<-a.dq)
	}
}

// TestPortAttachTimeout: with no pump to flush the channel (a link that
// takes nothing would hold it), Attach gives up after attachTimeout; the
// receiver stays attached, and the caller goes on sending on the channel.
func TestPortAttachTimeout(t *testing.T) {
	defer func(d time.Duration) { attachTimeout = d }(attachTimeout)
	attachTimeout = 20 * time.Millisecond
	p, _ := quiet(t, ethtest.NewHub(), ipcp.EthDIX)
	f, app := activeFlow(t, p, macB, 9)
	got := 0
	if err := (&port{p: p, f: f}).Attach(func([]byte) { got++ }); !errors.Is(err, ipcp.ErrPortNotFlushed) {
		t.Fatalf("Attach with no pump = %v, want ipcp.ErrPortNotFlushed", err)
	}
	frame := make([]byte, p.hl+10)
	DIXHeader(frame).Put(p.mac, macB, p.ethertype, f.lid, 10)
	p.input(frame)
	app.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
	if _, err := app.Read(make([]byte, 64)); err == nil || got != 1 {
		t.Fatalf("after a failed Attach the receiver got %d SDUs (channel read: %v), want 1 and none", got, err)
	}
}
