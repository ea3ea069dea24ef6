package broadcast

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/o7s/ouroboros/internal/wait"
	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/stack/ipcp/connmgr"
	"github.com/o7s/ouroboros/stack/seqpkt"
)

// What a broadcast IPCP takes from the wire and decides on is the cep_msg
// that opens a lower flow a peer allocated to it. Its SDUs have no header:
// nothing in them is parsed (forward_test checks that they pass as they
// are). The cep_msg codec and the enrollment a cep_msg may lead to have
// fuzz targets of their own, in connmgr and enroll.

// FuzzIncoming plays a peer that opens a lower flow with an arbitrary
// first packet. The IPCP must answer as connmgr.Respond does (nothing to
// what does not parse, an empty cep_msg to an unknown component, its own
// info to a known one), and keep the flow as a neighbour exactly when the
// peer is a broadcast data transfer: component "Data Transfer", empty
// protocol, version 0, syntax 0.
func FuzzIncoming(f *testing.F) {
	for _, i := range []connmgr.Info{connmgr.BroadcastDT, connmgr.DT, connmgr.Enrollment, connmgr.Management, {}} {
		f.Add(i.Marshal())
	}
	f.Add(connmgr.Info{Comp: connmgr.BroadcastDT.Comp, Addr: 7}.Marshal()) // an address is not looked at
	f.Add(connmgr.Info{Comp: connmgr.BroadcastDT.Comp, Version: 1}.Marshal())
	f.Add(bytes.Repeat([]byte{0xff}, connmgr.MaxMsg+1))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > seqpkt.MaxPacket {
			t.Skip("longer than a packet")
		}
		p, fn := layer(t, "bc")
		mine, far, err := seqpkt.Pair()
		if err != nil {
			t.Fatal(err)
		}
		defer far.Close()
		if err := far.Write(b); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		p.wg.Add(1)
		go func() {
			defer close(done)
			p.incoming(ipcp.LowerFlow{ID: 5, Conn: mine, Name: "peer", Layer: "lower"})
		}()

		peer, perr := connmgr.Parse(b)
		parsed := perr == nil && len(b) <= connmgr.MaxMsg
		buf := make([]byte, seqpkt.MaxPacket)
		far.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, rerr := far.Read(buf)
		switch {
		case !parsed:
			if rerr == nil {
				t.Fatalf("answered %x to a packet that does not parse", buf[:n])
			}
		case rerr != nil:
			t.Fatalf("no answer to %+v: %v", peer, rerr)
		default:
			reply, err := connmgr.Parse(buf[:n])
			want, known := compInfo(peer.Comp)
			if err != nil || reply != want {
				t.Fatalf("answered %+v (%v) to %+v; want %+v (known: %v)", reply, err, peer, want, known)
			}
		}
		dt := parsed && peer.Comp == connmgr.BroadcastDT.Comp && peer.Protocol == "" && peer.Version == 0 && peer.Syntax == 0
		if parsed && peer.Comp == connmgr.Enrollment.Comp {
			far.Close() // the enroller's wait for a request ends at once
		}
		select {
		case <-done:
		case <-time.After(connmgr.DrainTimeout + 5*time.Second):
			t.Fatal("incoming did not return")
		}
		if nbs := p.Inspect().Neighbours; (len(nbs) == 1) != dt || len(nbs) > 1 {
			t.Fatalf("neighbours %+v after %+v (parsed: %v)", nbs, peer, parsed)
		}
		far.Close() // a neighbour's flow ends
		lowerGone := func() []int {
			fn.mu.Lock()
			defer fn.mu.Unlock()
			return slices.Clone(fn.lowerGone)
		}
		wait.For(t, "the lower flow to be let go", func() bool { return len(lowerGone()) != 0 })
		if g := lowerGone(); len(g) != 1 || g[0] != 5 || len(p.Inspect().Neighbours) != 0 {
			t.Fatalf("lower deallocs %v, neighbours %+v; want [5] and none", g, p.Inspect().Neighbours)
		}
	})
}
