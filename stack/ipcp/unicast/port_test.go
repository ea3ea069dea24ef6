package unicast

import (
	"sync"
	"testing"
	"time"

	"github.com/o7s/ouroboros/internal/wait"
	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/stack/ipcp/unicast/ca"
	"github.com/o7s/ouroboros/stack/ipcp/unicast/dt"
	"github.com/o7s/ouroboros/stack/qos"
	"github.com/o7s/ouroboros/stack/seqpkt"
)

// fakePort is an ipcp.Port that keeps the last packet sent and hands the
// test the receiver.
type fakePort struct {
	mu     sync.Mutex
	rx     func([]byte)
	sent   int
	last   []byte
	queued int
	full   bool
}

func newFakePort() *fakePort { return &fakePort{last: make([]byte, 0, 2048)} }

func (f *fakePort) Attach(rx func([]byte)) error {
	f.mu.Lock()
	f.rx = rx
	f.mu.Unlock()
	return nil
}
func (f *fakePort) Send(b []byte) error { return f.TrySend(b) }
func (f *fakePort) TrySend(b []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.full {
		return ipcp.ErrPortFull
	}
	f.sent++
	f.last = append(f.last[:0], b...)
	return nil
}
func (f *fakePort) Queued() int { f.mu.Lock(); defer f.mu.Unlock(); return f.queued }

func (f *fakePort) receiver() func([]byte) { f.mu.Lock(); defer f.mu.Unlock(); return f.rx }

// portConn adds a data-transfer adjacency with peer over lower flow id,
// with an in-process port beside its channel.
func portConn(t *testing.T, p *IPCP, id int, peer uint64) *fakePort {
	t.Helper()
	mine, theirs, err := seqpkt.Pair()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { theirs.Close() })
	fp := newFakePort()
	p.addConn(ipcp.LowerFlow{ID: id, Conn: mine, Layer: "l", QoS: qos.Raw, Port: fp}, ipcp.CompDT, peer, "")
	if fp.receiver() == nil {
		t.Fatal("the port was not attached")
	}
	return fp
}

// TestPortForwarding: a packet handed over by a lower IPCP's reader is
// forwarded to the next hop's port with its TTL decremented and the
// MB-ECN mark of that port's queue, without allocating; a full port drops
// it and counts; the reader counts as hearing from the neighbour.
func TestPortForwarding(t *testing.T) {
	p, _ := started(t)
	in := portConn(t, p, 3, 0x0a)
	out := portConn(t, p, 4, 0x0b)
	const dst = 0x0badcafe
	p.pff.Set(dst, []int{4})
	out.queued = 64
	pkt := make([]byte, dt.HeaderLen+100)
	rx := in.receiver()
	step := func() {
		dt.Header(pkt).Put(dst, qos.CubeBE, 10, 0, 77)
		rx(pkt)
	}
	step()
	h, sdu, err := dt.ParseHeader(out.last)
	if err != nil || h.Dst() != dst || h.TTL() != 9 || h.ECN() != ca.Mark(64) || h.EID() != 77 || len(sdu) != 100 {
		t.Fatalf("forwarded %x (%v): want dst %x, TTL 9, ECN %d, eid 77, 100 bytes", out.last, err, dst, ca.Mark(64))
	}
	if n := testing.AllocsPerRun(1000, step); n != 0 {
		t.Errorf("allocations per forwarded packet = %v, want 0", n)
	}
	if out.sent != 1002 || p.stats.forwarded.Load() != 1002 {
		t.Fatalf("port took %d, forwarded %d; want 1002", out.sent, p.stats.forwarded.Load())
	}
	out.full = true
	step()
	if p.stats.full.Load() != 1 || p.stats.forwarded.Load() != 1002 {
		t.Fatalf("full port: %d drops, %d forwarded; want 1 drop", p.stats.full.Load(), p.stats.forwarded.Load())
	}
	p.mu.Lock()
	var c *conn
	for _, x := range p.conns {
		if x.lf.ID == 3 {
			c = x
		}
	}
	p.mu.Unlock()
	if c == nil || c.rx.Load() != 1003 {
		t.Fatalf("packets counted from the neighbour: %v, want 1003", c.rx.Load())
	}
	// What the IPCP sends itself goes through the port too.
	out.full = false
	if err := p.sendComp(dst, dtDHTEID, []byte("dht")); err != nil || out.sent != 1003 {
		t.Fatalf("sendComp: %v, the port took %d; want it to take 1003", err, out.sent)
	}
}

// TestPortLowerCube: with adjacencies of two cubes, a packet handed over
// on the lower cube's port waits in the scheduler's queue (a copy: the
// reader's buffer is reused at once) and is forwarded by the worker.
func TestPortLowerCube(t *testing.T) {
	p, _ := started(t)
	in := portConn(t, p, 3, 0x0a)
	out := portConn(t, p, 4, 0x0b)
	voice := newFakePort()
	mine, theirs, err := seqpkt.Pair()
	if err != nil {
		t.Fatal(err)
	}
	defer theirs.Close()
	p.addConn(ipcp.LowerFlow{ID: 5, Conn: mine, Layer: "l", QoS: qos.RawVoice, Port: voice}, ipcp.CompDT, 0x0c, "")
	if !p.sched.mixed.Load() {
		t.Fatal("two cubes in use, the scheduler is not mixed")
	}
	const dst = 0x0badcafe
	p.pff.Set(dst, []int{4})
	pkt := make([]byte, dt.HeaderLen+10)
	dt.Header(pkt).Put(dst, qos.CubeBE, 10, 0, 77)
	in.receiver()(pkt)
	clear(pkt) // the reader's buffer, reused
	if !wait.Until(5*time.Second, func() bool { return p.stats.forwarded.Load() == 1 }) {
		t.Fatal("the best-effort packet was not forwarded")
	}
	out.mu.Lock()
	h, _, err := dt.ParseHeader(out.last)
	out.mu.Unlock()
	if err != nil || h.Dst() != dst || h.TTL() != 9 {
		t.Fatalf("forwarded %+v, %v; want the packet to %x", h, err, dst)
	}
}
