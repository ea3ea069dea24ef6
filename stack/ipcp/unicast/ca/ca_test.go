package ca

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/o7s/ouroboros/stack/ipcp"
)

func TestPolicyValues(t *testing.T) {
	if None != Policy(ipcp.CongNone) || MBECN != Policy(ipcp.CongMBECN) {
		t.Fatalf("None %d, MBECN %d; ipcp has %d, %d", None, MBECN, ipcp.CongNone, ipcp.CongMBECN)
	}
	for p, want := range map[Policy]string{None: "none", MBECN: "mb-ecn", 7: "policy(7)"} {
		if p.String() != want || p.Valid() != (p <= MBECN) {
			t.Errorf("Policy(%d): %q valid %v", uint8(p), p.String(), p.Valid())
		}
	}
	if f, err := Policy(2).NewFlow(t0); f != nil || !errors.Is(err, ErrPolicy) {
		t.Fatalf("NewFlow(2) = %v, %v", f, err)
	}
	if f, err := None.NewFlow(t0); err != nil || f != (NopFlow{}) {
		t.Fatalf("None.NewFlow = %#v, %v", f, err)
	}
	if f, err := MBECN.NewFlow(t0); err != nil {
		t.Fatal(err)
	} else if m, ok := f.(*MBECNFlow); !ok || m.Sender.Limit() != 65536 || m.Sender.mul != 24 {
		t.Fatalf("MBECN.NewFlow = %#v", f)
	}
}

func TestMark(t *testing.T) {
	for _, c := range []struct {
		queued int
		mark   uint8
	}{
		{-1, 0}, {0, 0}, {15, 0}, {16, 1}, {31, 1}, {32, 2}, {100, 6},
		{1024, 64}, // a full ring
		{4095, 255},
		{4096, 255}, // the reference's cast would give 0
		{1 << 40, 255},
	} {
		if got := Mark(c.queued); got != c.mark {
			t.Errorf("Mark(%d) = %d, want %d", c.queued, got, c.mark)
		}
		if got := MBECN.Mark(c.queued); got != c.mark {
			t.Errorf("MBECN.Mark(%d) = %d, want %d", c.queued, got, c.mark)
		}
		if got := None.Mark(c.queued); got != 0 {
			t.Errorf("None.Mark(%d) = %d, want 0", c.queued, got)
		}
	}
}

func TestNop(t *testing.T) {
	f, err := None.NewFlow(t0)
	if err != nil {
		t.Fatal(err)
	}
	f.Update(8000)
	for i := 0; i < 1000; i++ {
		if w := f.Send(t0, 1<<30); w != 0 {
			t.Fatalf("nop waits %v", w)
		}
		if ece, send := f.Receive(255); ece != 0 || send {
			t.Fatalf("nop Receive = %d, %v", ece, send)
		}
	}
	if _, ok := f.Stats(); ok {
		t.Fatal("nop has stats")
	}
}

func TestMBECNFlow(t *testing.T) {
	f := NewMBECNFlow(t0)
	if ece, send := f.Receive(5); ece != 5 || !send {
		t.Fatalf("Receive(5) = %d, %v", ece, send)
	}
	f.Update(3)
	f.Send(t0, 1500)
	f.Send(t0, 1500)
	st, ok := f.Stats()
	if !ok {
		t.Fatal("no stats")
	}
	want := Stats{
		Algorithm: "Multi-bit ECN", SenderECE: 3, SenderCtr: 2,
		ReceiverECE: 5, ReceiverCtr: 0, Slot: 1 << 24,
		WindowPackets: 2, WindowBytes: 3000, ByteLimit: 65536,
		Regime: "Multiplicative dec",
	}
	if st != want {
		t.Fatalf("stats\n got %+v\nwant %+v", st, want)
	}
	// The layout of mb_ecn_print_stats, labels included.
	golden := "" +
		"Congestion avoidance algorithm:         Multi-bit ECN\n" +
		"Upstream congestion level:                          3\n" +
		"Upstream packet counter:                            2\n" +
		"Downstream congestion level:                        5\n" +
		"Downstream packet counter:                          0\n" +
		"Congestion window size (ns):                 16777216\n" +
		"Packets in this window:                             2\n" +
		"Bytes in this window:                            3000\n" +
		"Max bytes in this window:                       65536\n" +
		"Current congestion regime:         Multiplicative dec\n"
	if s := st.String(); s != golden {
		t.Fatalf("String:\n%s\nwant:\n%s", s, golden)
	}
}

// The per-packet paths of both policies, through the Flow interface as the
// IPCP holds them, allocate nothing.
func TestNoAllocs(t *testing.T) {
	for _, p := range []Policy{None, MBECN} {
		f, err := p.NewFlow(t0)
		if err != nil {
			t.Fatal(err)
		}
		now := t0
		i := 0
		allocs := testing.AllocsPerRun(10000, func() {
			now = now.Add(37 * time.Microsecond)
			_ = f.Send(now, 1500)
			_, _ = f.Receive(uint8(i >> 4))
			if i%64 == 0 {
				f.Update(uint16(i))
			}
			_ = p.Mark(i % 1024)
			i++
		})
		if allocs != 0 {
			t.Errorf("%v: %v allocations per packet", p, allocs)
		}
	}
}

func BenchmarkSenderPacket(b *testing.B) {
	s := NewSender(t0)
	now := t0
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(10 * time.Microsecond)
		_ = s.Packet(now, 1500)
	}
}

func BenchmarkReceiverUpdate(b *testing.B) {
	var r Receiver
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		_, _ = r.Update(uint8(i>>3) & 3)
		i++
	}
}

func BenchmarkFlow(b *testing.B) {
	for _, p := range []Policy{None, MBECN} {
		b.Run(p.String(), func(b *testing.B) {
			f, _ := p.NewFlow(t0)
			now := t0
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				now = now.Add(10 * time.Microsecond)
				_ = f.Send(now, 1500)
				_, _ = f.Receive(p.Mark(i & 63))
				i++
			}
		})
	}
}

func BenchmarkMark(b *testing.B) {
	var m uint8
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		m |= Mark(i & 1023)
		i++
	}
	_ = m
}

// How the flow allocator drives one flow on each side of a path.
func Example() {
	now := time.Unix(0, 0)
	tx, _ := MBECN.NewFlow(now) // at the sender's IPCP
	rx, _ := MBECN.NewFlow(now) // at the receiver's IPCP

	for i := 0; i < 4; i++ {
		// N+1 TX: account, sleep if told to, then dt_write_packet.
		wait := tx.Send(now, 1500)
		now = now.Add(wait + time.Millisecond)

		// Every hop ORs its mark into the PCI's ECN byte; say 40
		// packets wait at the second hop.
		ecn := Mark(3) | Mark(40)

		// N+1 RX: account the ECN byte; report to the sender if asked.
		if ece, send := rx.Receive(ecn); send {
			fmt.Println("FLOW_UPDATE ece", ece)
			tx.Update(ece) // the FLOW_UPDATE arrives at the sender
		}
	}
	st, _ := tx.Stats()
	fmt.Println(st.Regime)
	// Output:
	// FLOW_UPDATE ece 2
	// FLOW_UPDATE ece 6
	// Multiplicative dec
}
