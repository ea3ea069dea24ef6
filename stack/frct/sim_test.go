package frct

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"testing"
	"time"

	"github.com/o7s/ouroboros/internal/lossy"
)

// pipe is two Conns joined by two impaired links on a virtual clock, with
// the flow pipeline's CRC so that corruption is caught as on a flow with
// QoS ber 0.
type pipe struct {
	now    int64
	a, b   *Conn
	ab, ba *lossy.Link
	bad    int // packets that failed the CRC
}

func newPipe(reliable bool, im lossy.Impairment) *pipe {
	p := &pipe{}
	ima, imb := im, im
	imb.Seed = im.Seed + 1
	p.ab, p.ba = lossy.New(ima), lossy.New(imb)
	out := func(l **lossy.Link) func([]byte) { // the link may be replaced during a test
		return func(pdu []byte) { (*l).Send(AppendCRC(append([]byte(nil), pdu...)), p.now) }
	}
	p.a = New(Config{MPL: 100 * time.Millisecond, Reliable: reliable, Output: out(&p.ab), ISN: func() uint32 { return 0xFFFFFF00 }})
	p.b = New(Config{MPL: 100 * time.Millisecond, Reliable: reliable, Output: out(&p.ba), ISN: func() uint32 { return 12345 }})
	return p
}

// carry moves every packet due now across both links.
func (p *pipe) carry() {
	for _, d := range []struct {
		l  *lossy.Link
		to *Conn
	}{{p.ab, p.b}, {p.ba, p.a}} {
		for pkt := d.l.Receive(p.now); pkt != nil; pkt = d.l.Receive(p.now) {
			if pdu, ok := CheckCRC(pkt); ok {
				d.to.Receive(pdu, p.now)
			} else {
				p.bad++
			}
		}
	}
}

// advance moves the clock to the next event, at least 1 µs on.
func (p *pipe) advance() bool {
	next := int64(0)
	for _, t := range []int64{p.ab.Next(), p.ba.Next(), p.a.Deadline(), p.b.Deadline()} {
		if t != 0 && (next == 0 || t < next) {
			next = t
		}
	}
	if next == 0 {
		return false
	}
	p.now = max(p.now+1000, next)
	p.a.Tick(p.now)
	p.b.Tick(p.now)
	return true
}

func sduOf(i int, b []byte) []byte {
	n := 4 + (i*7919)%1397
	b = b[:PCILen+n]
	for j := range n {
		b[PCILen+j] = byte(i + j*31)
	}
	binary.BigEndian.PutUint32(b[PCILen:], uint32(i))
	return b
}

// transfer sends n SDUs from a to b as fast as the window allows; the
// receiving application takes them at once. It returns the delivered
// sequence of SDU numbers and the CRC32 of everything delivered.
func (p *pipe) transfer(t *testing.T, n int, limit time.Duration) (got []int, sum uint32, sentSum uint32) {
	t.Helper()
	buf := make([]byte, 64<<10)
	pdu := make([]byte, 64<<10)
	sent := 0
	for len(got) < n && p.now < int64(limit) {
		for sent < n {
			b := sduOf(sent, pdu)
			if err := p.a.Send(b, p.now); err != nil {
				if !errors.Is(err, ErrWindowClosed) {
					t.Fatalf("send %d: %v", sent, err)
				}
				break
			}
			sentSum = crc32.Update(sentSum, crc32.IEEETable, b[PCILen:])
			p.ab.Send(AppendCRC(append([]byte(nil), b...)), p.now)
			sent++
		}
		p.carry()
		for {
			m, ok := p.b.Next(buf, p.now)
			if !ok {
				break
			}
			got = append(got, int(binary.BigEndian.Uint32(buf)))
			sum = crc32.Update(sum, crc32.IEEETable, buf[:m])
		}
		if sent == n && len(got) < n && !p.advance() {
			if !p.b.Ready() {
				break
			}
		} else if sent < n && !p.a.WindowOpen(p.now) && !p.advance() {
			t.Fatalf("stuck at %d sent, %d delivered: nothing on the links and no timer", sent, len(got))
		}
	}
	return got, sum, sentSum
}

// A reliable flow delivers every SDU once, in order, over a link that
// loses 10%, reorders 1%, duplicates 1% and corrupts 0.1% of its packets
// (both ways), and retransmits within 1.5× what was lost.
func TestReliableOverLossyLink(t *testing.T) {
	for _, tc := range []struct {
		name string
		im   lossy.Impairment
	}{
		{"clean", lossy.Impairment{Delay: 200 * time.Microsecond, Rate: 100e6}},
		{"loss10-reorder1-dup1-corrupt0.1", lossy.Impairment{Loss: 0.10, Reorder: 0.01, Dup: 0.01, Corrupt: 0.001,
			Delay: 200 * time.Microsecond, Jitter: 50 * time.Microsecond, Rate: 100e6, Seed: 7}},
		{"loss20", lossy.Impairment{Loss: 0.20, Delay: time.Millisecond, Rate: 10e6, Seed: 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const n = 20000
			p := newPipe(true, tc.im)
			got, sum, want := p.transfer(t, n, 600*time.Second)
			if len(got) != n {
				t.Fatalf("delivered %d of %d SDUs by %v", len(got), n, time.Duration(p.now))
			}
			for i, g := range got {
				if g != i {
					t.Fatalf("SDU %d delivered as number %d", i, g)
				}
			}
			if sum != want {
				t.Fatalf("checksum %08x, sent %08x", sum, want)
			}
			st := p.a.Stats()
			lost := p.ab.Lost + p.ab.Corrupted
			t.Logf("%v: %d SDUs in %v (%.0f SDU/s), %d lost or corrupted on the way, %d retransmitted, %d bad CRC, rto %v",
				tc.name, n, time.Duration(p.now), float64(n)/time.Duration(p.now).Seconds(), lost, st.Retransmits, p.bad, func() time.Duration { r, _ := p.a.RTO(); return r }())
			if lost > 0 && float64(st.Retransmits) > 1.5*float64(lost)+10 {
				t.Errorf("%d retransmissions for %d PDUs lost", st.Retransmits, lost)
			}
		})
	}
}

// An unreliable ordered flow (best effort, video, voice) delivers in
// increasing order, never twice, drops what is late, and does not stall
// although its receiver sends no acknowledgements: the window moves with
// window updates, and rendezvous when those are lost.
func TestOrderedOverLossyLink(t *testing.T) {
	im := lossy.Impairment{Loss: 0.05, Reorder: 0.05, Dup: 0.02, Delay: 500 * time.Microsecond, Rate: 50e6, Seed: 11}
	p := newPipe(false, im)
	const n = 5000
	buf := make([]byte, 64<<10)
	pdu := make([]byte, 64<<10)
	var got []int
	for i := 0; i < n; {
		b := sduOf(i, pdu)
		err := p.a.Send(b, p.now)
		if err == nil {
			p.ab.Send(AppendCRC(append([]byte(nil), b...)), p.now)
			i++
		} else if !errors.Is(err, ErrWindowClosed) {
			t.Fatal(err)
		} else if !p.advance() {
			t.Fatalf("stuck at %d", i)
		}
		p.carry()
		for {
			_, ok := p.b.Next(buf, p.now)
			if !ok {
				break
			}
			got = append(got, int(binary.BigEndian.Uint32(buf)))
		}
	}
	for p.advance() && p.now < 10e9 {
		p.carry()
		for {
			if _, ok := p.b.Next(buf, p.now); !ok {
				break
			}
			got = append(got, int(binary.BigEndian.Uint32(buf)))
		}
	}
	for i := 1; i < len(got); i++ {
		if got[i] <= got[i-1] {
			t.Fatalf("delivered %d after %d", got[i], got[i-1])
		}
	}
	if len(got) < n*85/100 {
		t.Fatalf("delivered %d of %d", len(got), n)
	}
	st := p.a.Stats()
	t.Logf("%d of %d delivered in %v; %d rendezvous, %d late, %d window updates from the receiver",
		len(got), n, time.Duration(p.now), st.RdvsSent, p.b.Stats().Late, p.b.Stats().AcksSent)
}

// Send, Receive and Next on a reliable flow allocate nothing per packet
// once the buffers have grown.
func TestNoAllocationsPerPacket(t *testing.T) {
	var link [][]byte
	out := func(p []byte) {}
	a := New(Config{Reliable: true, Output: out})
	b := New(Config{Reliable: true, Output: func(p []byte) { link = append(link[:0], p) }})
	pdu := make([]byte, PCILen+1400)
	buf := make([]byte, 2000)
	now := int64(0)
	step := func() {
		now += 1000
		if err := a.Send(pdu, now); err != nil {
			t.Fatal(err)
		}
		b.Receive(pdu, now)
		if _, ok := b.Next(buf, now); !ok {
			t.Fatal("nothing delivered")
		}
		for _, p := range link {
			a.Receive(p, now)
		}
		link = link[:0]
		a.Tick(now)
		b.Tick(now)
	}
	for range 2 * RQSize {
		step()
	}
	if n := testing.AllocsPerRun(1000, step); n != 0 {
		t.Fatalf("%v allocations per packet", n)
	}
}

// BenchmarkGoodputUnderLoss runs 20000 SDUs of up to 1400 bytes over a
// 100 MB/s link with 200 µs of delay and random loss both ways, on the
// virtual clock, and reports the goodput (SDUs per virtual second, next
// to the lossless run's) and the retransmissions per PDU lost.
func BenchmarkGoodputUnderLoss(b *testing.B) {
	for _, loss := range []float64{0, 0.01, 0.05, 0.10, 0.20} {
		b.Run(fmt.Sprintf("loss=%.0f%%", loss*100), func(b *testing.B) {
			for range b.N {
				p := newPipe(true, lossy.Impairment{Loss: loss, Delay: 200 * time.Microsecond, Rate: 100e6, Seed: 5})
				got, _, _ := p.transfer(&testing.T{}, 20000, 600*time.Second)
				if len(got) != 20000 {
					b.Fatalf("delivered %d", len(got))
				}
				b.ReportMetric(20000/time.Duration(p.now).Seconds(), "SDU/s")
				if lost := p.ab.Lost; lost > 0 {
					b.ReportMetric(float64(p.a.Stats().Retransmits)/float64(lost), "rtx/lost")
				}
			}
		})
	}
}

// A one-way unreliable flow whose window updates are all lost for a
// while: the sender's window closes, it sends rendezvous every 100 ms,
// and once the way back works again the answer reopens the window.
func TestRendezvousReopensWindow(t *testing.T) {
	p := newPipe(false, lossy.Impairment{Delay: 200 * time.Microsecond})
	p.ba = lossy.New(lossy.Impairment{Loss: 1, Delay: 200 * time.Microsecond}) // nothing comes back
	pdu := make([]byte, PCILen+100)
	buf := make([]byte, 200)
	sent, got := 0, 0
	healed := false
	for sent < 1000 && p.now < 10e9 {
		if err := p.a.Send(pdu, p.now); err == nil {
			p.ab.Send(AppendCRC(append([]byte(nil), pdu...)), p.now)
			sent++
			continue
		}
		if !healed && p.now > 1e9 {
			p.ba = lossy.New(lossy.Impairment{Delay: 200 * time.Microsecond})
			healed = true
		}
		if !p.advance() {
			t.Fatalf("stuck at %d sent with no timer", sent)
		}
		p.carry()
		for {
			if _, ok := p.b.Next(buf, p.now); !ok {
				break
			}
			got++
		}
	}
	st := p.a.Stats()
	if sent < 1000 || st.RdvsSent < 5 {
		t.Fatalf("sent %d, %d rendezvous by %v", sent, st.RdvsSent, time.Duration(p.now))
	}
	t.Logf("%d sent, %d delivered, %d rendezvous, done at %v", sent, got, st.RdvsSent, time.Duration(p.now))
}
