package udp

import (
	"bytes"
	"net"
	"net/netip"
	"testing"

	"github.com/o7s/ouroboros/stack/ipcp"
)

// TestDataPathDoesNotAllocate checks the per-packet steps: demux and
// delivery of a received datagram to its flow, and reading an SDU from a
// flow, prefixing the eid in place and sending it with WriteBatch.
func TestDataPathDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	irm := newFakeIRM()
	p := bootstrap(t, ipcp.UDP4, irm, lo("127.0.0.1", 0), nil)
	sink := listen(t, lo("127.0.0.1", 0))
	fl, app := irm.pair(t)
	eid, err := p.reserveEID()
	if err != nil {
		t.Fatal(err)
	}
	from := lo("127.0.0.2", 1)
	f := &flow{key: fl.Key, end: fl.End, eid: eid, reid: 9, peer: from, raddr: sink.LocalAddr().(*net.UDPAddr), state: active}
	p.mu.Lock()
	p.installLocked(f)
	p.mu.Unlock()

	sdu := bytes.Repeat([]byte{0xAB}, 1400)
	dgram := append(AppendEIDForTest(eid), sdu...)
	buf := make([]byte, MaxPacket4+1)
	rx := testing.AllocsPerRun(1000, func() {
		p.deliver(dgram, from)
		if n, err := app.Read(buf); err != nil || n != len(sdu) {
			t.Fatalf("application read %d, %v", n, err)
		}
	})
	s := newSender(p, f)
	tx := testing.AllocsPerRun(1000, func() {
		app.Write(sdu)
		if alive, _ := s.fill(); !alive {
			t.Fatal("fill: the flow ended")
		}
		s.flush()
		if n, err := sink.Read(buf); err != nil || n != EIDLen+len(sdu) || buf[3] != 9 {
			t.Fatalf("sink read %d bytes (eid byte %d), %v", n, buf[3], err)
		}
	})
	if rx != 0 || tx != 0 {
		t.Fatalf("allocations per packet: receive %v, send %v; want 0", rx, tx)
	}
	if got := p.Stats.RxPackets.Load(); got < 1000 {
		t.Errorf("RxPackets = %d, want ≥ 1000", got)
	}
}

// TestReceivers checks both receivers: sources, lengths, truncation, and
// that the Linux one allocates nothing per batch.
func TestReceivers(t *testing.T) {
	for _, portable := range []bool{false, true} {
		for _, addr := range []string{"127.0.0.1", "::1"} {
			typ := map[bool]ipcp.Type{true: ipcp.UDP4, false: ipcp.UDP6}[addr == "127.0.0.1"]
			c := listen(t, lo(addr, 0))
			bc := newBatchConn(typ, c)
			bufs := receiveBuffers(MaxPacket4, Batch)
			var r receiver = newXNetReceiver(bc, bufs)
			if !portable {
				var err error
				if r, err = newReceiver(c, bc, bufs); err != nil {
					t.Fatal(err)
				}
			}
			tx := listen(t, lo(addr, 0))
			to, from := c.LocalAddr().(*net.UDPAddr).AddrPort(), tx.LocalAddr().(*net.UDPAddr).AddrPort()
			for _, size := range []int{0, 1, 1400, MaxPacket4, MaxPacket4 + 100} {
				tx.WriteToUDPAddrPort(make([]byte, size), to)
				n, err := r.read()
				if err != nil || n != 1 {
					t.Fatalf("read = %d, %v", n, err)
				}
				b, src := r.datagram(0)
				if want := min(size, MaxPacket4+1); len(b) != want || src != from {
					t.Errorf("portable=%v %s: %d bytes from %v, want %d from %v", portable, addr, len(b), src, want, from)
				}
			}
			allocs := testing.AllocsPerRun(100, func() {
				tx.WriteToUDPAddrPort(bufs[1][:64], to)
				r.read()
				r.datagram(0)
			})
			if !portable && allocs > 0 && !raceEnabled {
				t.Errorf("recvmmsg receiver allocates %v per read, want 0", allocs)
			}
		}
	}
}

// TestReceiverGrows: both receivers start with the buffers they are
// given, and grow takes them to Batch, the old buffers and the new ones
// read in order.
func TestReceiverGrows(t *testing.T) {
	for _, portable := range []bool{false, true} {
		c := listen(t, lo("127.0.0.1", 0))
		bc := newBatchConn(ipcp.UDP4, c)
		bufs := receiveBuffers(MaxPacket4, firstBatch)
		var r receiver = newXNetReceiver(bc, bufs)
		if !portable {
			var err error
			if r, err = newReceiver(c, bc, bufs); err != nil {
				t.Fatal(err)
			}
		}
		tx := listen(t, lo("127.0.0.1", 0))
		to := c.LocalAddr().(*net.UDPAddr).AddrPort()
		send := func(k int) {
			for i := range k {
				tx.WriteToUDPAddrPort([]byte{byte(i)}, to)
			}
		}
		// check reads want datagrams, numbered from first.
		check := func(first, want int) {
			t.Helper()
			n, err := r.read()
			if err != nil || n != want {
				t.Fatalf("portable=%v: read = %d, %v; want %d", portable, n, err, want)
			}
			for i := range n {
				if b, _ := r.datagram(i); len(b) != 1 || b[0] != byte(first+i) {
					t.Fatalf("portable=%v: datagram %d = %v, want [%d]", portable, i, b, first+i)
				}
			}
		}
		if r.batch() != firstBatch {
			t.Fatalf("portable=%v: batch %d at first, want %d", portable, r.batch(), firstBatch)
		}
		send(firstBatch + 1)
		check(0, firstBatch)
		check(firstBatch, 1)
		r.grow()
		r.grow() // once is enough
		if r.batch() != Batch {
			t.Fatalf("portable=%v: batch %d after grow, want %d", portable, r.batch(), Batch)
		}
		send(Batch)
		check(0, Batch)
	}
}

// A datagram for a flow from another host than the flow's peer (a stale
// flow of that host's, whose eid this IPCP gave a new flow) is dropped
// and counted.
func TestDataFromOtherPeerDropped(t *testing.T) {
	irm := newFakeIRM()
	p := bootstrap(t, ipcp.UDP4, irm, lo("127.0.0.1", 0), nil)
	fl, _ := irm.pair(t)
	eid, err := p.reserveEID()
	if err != nil {
		t.Fatal(err)
	}
	peer := lo("127.0.0.2", 3435)
	f := &flow{key: fl.Key, end: fl.End, eid: eid, reid: 9, peer: peer, raddr: net.UDPAddrFromAddrPort(peer), state: active}
	p.mu.Lock()
	p.installLocked(f)
	p.mu.Unlock()
	p.deliver(append(AppendEIDForTest(eid), 1, 2, 3), lo("127.0.0.3", 3435))
	if got := p.Stats.DropWrongPeer.Load(); got != 1 {
		t.Errorf("DropWrongPeer = %d, want 1", got)
	}
	if got := p.Stats.RxPackets.Load(); got != 0 {
		t.Errorf("RxPackets = %d, want 0", got)
	}
}

// fullReceiver's reads fill its batch with runts until it has grown and
// read twice more; then it says the socket closed.
type fullReceiver struct {
	reads, grown int // reads so far; reads before grow
	size         int
}

func (r *fullReceiver) read() (int, error) {
	if r.grown > 0 && r.reads >= r.grown+2 {
		return 0, net.ErrClosed
	}
	r.reads++
	return r.size, nil
}
func (r *fullReceiver) datagram(int) ([]byte, netip.AddrPort) { return nil, netip.AddrPort{} }
func (r *fullReceiver) batch() int                            { return r.size }
func (r *fullReceiver) grow() {
	if r.size < Batch {
		r.size, r.grown = Batch, r.reads
	}
}

// TestReaderGrowsWhenBusy: the reader grows its receiver's batch after
// growAfter reads that filled it, not before.
func TestReaderGrowsWhenBusy(t *testing.T) {
	p := newIPCP(ipcp.UDP4, 1, newFakeIRM(), nil)
	p.cancel()
	r := &fullReceiver{size: firstBatch}
	p.wg.Add(1)
	p.reader(r)
	if r.grown != growAfter {
		t.Fatalf("grown after %d full reads, want %d", r.grown, growAfter)
	}
	if got, want := p.Stats.DropShort.Load(), uint64(growAfter*firstBatch+2*Batch); got != want {
		t.Fatalf("DropShort = %d, want %d (every runt delivered)", got, want)
	}
}
