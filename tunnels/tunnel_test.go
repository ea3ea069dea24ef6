package tunnels

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"
)

// memDevice is a device in memory: Read returns what the test puts in rx,
// Write keeps the last batch's first packet and counts.
type memDevice struct {
	rx     chan []byte
	done   chan struct{}
	once   sync.Once
	mu     sync.Mutex
	last   []byte
	writes int
	batch  int
}

func newMemDevice(batch int) *memDevice {
	return &memDevice{rx: make(chan []byte, 16), done: make(chan struct{}), last: make([]byte, 0, 1<<16), batch: batch}
}

func (d *memDevice) Read(bufs [][]byte, sizes []int, offset int) (int, error) {
	select {
	case p := <-d.rx:
		sizes[0] = copy(bufs[0][offset:], p)
		return 1, nil
	case <-d.done:
		return 0, os.ErrClosed
	}
}

func (d *memDevice) Write(bufs [][]byte, offset int) (int, error) {
	d.mu.Lock()
	d.writes += len(bufs)
	d.last = append(d.last[:0], bufs[0][offset:]...)
	d.mu.Unlock()
	return len(bufs), nil
}

func (d *memDevice) BatchSize() int { return d.batch }
func (d *memDevice) Name() string   { return "mem0" }
func (d *memDevice) Close() error   { d.once.Do(func() { close(d.done) }); return nil }

func (d *memDevice) lastWrite() ([]byte, int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]byte(nil), d.last...), d.writes
}

// memFlow is a flow in memory: Read returns what the test puts in rx,
// Write counts.
type memFlow struct {
	rx     chan []byte
	maxSDU int
	mu     sync.Mutex
	dl     time.Time
	wake   chan struct{}
	writes int
}

func newMemFlow(maxSDU int) *memFlow {
	return &memFlow{rx: make(chan []byte, 16), maxSDU: maxSDU, wake: make(chan struct{}, 1)}
}

var errMemTimeout = errors.New("timeout")

func (f *memFlow) Read(b []byte) (int, error) {
	select {
	case p, ok := <-f.rx:
		if !ok {
			return 0, errors.New("flow down")
		}
		return copy(b, p), nil
	case <-f.wake:
		return 0, errMemTimeout
	}
}

func (f *memFlow) Write(b []byte) (int, error) {
	f.mu.Lock()
	f.writes++
	f.mu.Unlock()
	return len(b), nil
}

func (f *memFlow) MaxSDU() int { return f.maxSDU }

func (f *memFlow) SetReadDeadline(t time.Time) error {
	if !t.IsZero() && t.Before(time.Now()) {
		select {
		case f.wake <- struct{}{}:
		default:
		}
	}
	return nil
}

func (f *memFlow) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.writes
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestSwitch: two sessions on one tun device; packets from the device go
// where their destination came from, multicast to both, unknown ones are
// dropped; a flow that goes down ends its Serve with its error.
func TestSwitch(t *testing.T) {
	d := newMemDevice(1)
	tn := New(d, false, netip.Addr{}, netip.Addr{})
	defer tn.Close()
	fa, fb := newMemFlow(1500), newMemFlow(1500)
	errs := make(chan error, 2)
	go func() { errs <- tn.Serve(context.Background(), fa) }()
	go func() { errs <- tn.Serve(context.Background(), fb) }()
	waitFor(t, "two sessions", func() bool { return tn.Sessions() == 2 })

	fromA := v4pkt(100, true) // 10.0.0.1 -> 10.0.0.2
	fa.rx <- fromA
	waitFor(t, "the packet from A on the device", func() bool { _, n := d.lastWrite(); return n == 1 })

	toA := v4pkt(100, true)
	copy(toA[16:], []byte{10, 0, 0, 1})
	d.rx <- toA
	waitFor(t, "the packet to A", func() bool { return fa.count() == 1 })

	unknown := v4pkt(100, true)
	copy(unknown[16:], []byte{10, 0, 0, 9})
	d.rx <- unknown
	waitFor(t, "the drop", func() bool { return tn.Stats().Drops[DropNoRoute] == 1 })

	bc := v4pkt(100, true)
	copy(bc[16:], []byte{255, 255, 255, 255})
	d.rx <- bc
	waitFor(t, "the broadcast", func() bool { return fa.count() == 2 && fb.count() == 1 })

	close(fb.rx) // B goes down
	if err := <-errs; err == nil || err.Error() != "flow down" {
		t.Errorf("Serve of a flow that went down: %v", err)
	}
	d.rx <- unknown // one session left: it takes everything
	waitFor(t, "the packet to the only session", func() bool { return fa.count() == 3 })

	if err := tn.Close(); err != nil {
		t.Error(err)
	}
	if err := <-errs; err != nil {
		t.Errorf("Serve stopped by Close: %v", err)
	}
	s := tn.Stats()
	if s.DevRxPkts != 4 || s.FlowTxPkts != 4 || s.FlowRxPkts != 1 || s.DevTxPkts != 1 {
		t.Errorf("stats:\n%s", s)
	}
}

// TestTooBigOnDevice: a packet larger than the flow carries is answered
// on the device.
func TestTooBigOnDevice(t *testing.T) {
	d := newMemDevice(1)
	tn := New(d, false, netip.MustParseAddr("10.0.0.254"), netip.Addr{})
	defer tn.Close()
	f := newMemFlow(1400)
	go tn.Serve(context.Background(), f)
	waitFor(t, "the session", func() bool { return tn.Sessions() == 1 })
	d.rx <- v4pkt(1401, true)
	waitFor(t, "the ICMP error", func() bool { _, n := d.lastWrite(); return n == 1 })
	got, _ := d.lastWrite()
	want, _ := AppendTooBig(nil, v4pkt(1401, true), 1400, netip.MustParseAddr("10.0.0.254"))
	if string(got) != string(want) {
		t.Errorf("wrote %x\nwant %x", got, want)
	}
	d.rx <- v4pkt(1401, false)
	waitFor(t, "the drop", func() bool { return tn.Stats().Drops[DropTooBigNoICMP] == 1 })
	if s := tn.Stats(); s.ICMP != 1 || s.Drops[DropTooBig] != 1 || f.count() != 0 {
		t.Errorf("stats:\n%s", s)
	}
}

// TestTapFlood: tap frames to an unknown MAC go to every session, then to
// the one the MAC was learned from.
func TestTapFlood(t *testing.T) {
	d := newMemDevice(1)
	tn := New(d, true, netip.Addr{}, netip.Addr{})
	defer tn.Close()
	fa, fb := newMemFlow(1514), newMemFlow(1514)
	go tn.Serve(context.Background(), fa)
	go tn.Serve(context.Background(), fb)
	waitFor(t, "two sessions", func() bool { return tn.Sessions() == 2 })
	frame := unhex("0200000000aa 0200000000bb 0800 45000014")
	d.rx <- frame
	waitFor(t, "the flood", func() bool { return fa.count() == 1 && fb.count() == 1 })
	fb.rx <- unhex("0200000000bb 0200000000aa 0800 45000014") // aa is behind B
	waitFor(t, "B's frame on the device", func() bool { _, n := d.lastWrite(); return n == 1 })
	d.rx <- frame
	waitFor(t, "the frame to B", func() bool { return fb.count() == 2 })
	if fa.count() != 1 {
		t.Errorf("A got %d frames; want 1", fa.count())
	}
	fb.rx <- []byte{1, 2, 3}
	waitFor(t, "the short frame's drop", func() bool { return tn.Stats().Drops[DropTruncated] == 1 })
}

// TestAllocs: nothing on the path allocates per packet.
func TestAllocs(t *testing.T) {
	for _, tap := range []bool{false, true} {
		d := newMemDevice(1)
		tn := New(d, tap, netip.Addr{}, netip.Addr{})
		f := newMemFlow(1400)
		go tn.Serve(context.Background(), f)
		waitFor(t, "the session", func() bool { return tn.Sessions() == 1 })
		s := tn.tab.Load().list[0]
		p := v4pkt(1000, true)
		if tap {
			p = append(unhex("0200000000aa 0200000000bb 0800"), p...)
		}
		big := v4pkt(1401, true)
		buf := make([]byte, Offset+len(p))
		copy(buf[Offset:], p)
		out := make([][]byte, 0, 1)
		if n := testing.AllocsPerRun(1000, func() { tn.fromDevice(p) }); n != 0 {
			t.Errorf("tap %v: %v allocations per packet from the device", tap, n)
		}
		if n := testing.AllocsPerRun(1000, func() { tn.writeDevice(tn.fromFlow(s, buf, len(p), out[:0])) }); n != 0 {
			t.Errorf("tap %v: %v allocations per packet from the flow", tap, n)
		}
		if !tap {
			if n := testing.AllocsPerRun(1000, func() { tn.fromDevice(big) }); n != 0 {
				t.Errorf("%v allocations per ICMP too-big", n)
			}
		}
		tn.Close()
	}
}

func BenchmarkFromDevice(b *testing.B) {
	d := newMemDevice(1)
	tn := New(d, false, netip.Addr{}, netip.Addr{})
	defer tn.Close()
	go tn.Serve(context.Background(), newMemFlow(1500))
	for tn.Sessions() == 0 {
		time.Sleep(time.Millisecond)
	}
	p := v4pkt(1400, true)
	b.ReportAllocs()
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		tn.fromDevice(p)
	}
}
