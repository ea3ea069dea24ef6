package ca

import (
	"testing"
	"time"
)

// t0 is an arbitrary instant without a monotonic reading, so every test
// time is exact.
var t0 = time.Unix(1_700_000_000, 0)

const slot24 = 1 << 24 // the initial slot, ns

func at(ns uint64) time.Time { return t0.Add(time.Duration(ns)) }

// state is the sender's state in the reference's terms.
type state struct {
	mul           uint
	slot          uint64
	wbl, inc      uint64
	wbc, wpc, ctr uint64
	ece           uint16
	cav           bool
}

func stateOf(s *Sender) state {
	return state{s.mul, s.slot, s.wbl, s.inc, s.wbc, s.wpc, s.ctr, s.ece, s.cav}
}

func check(t *testing.T, s *Sender, want state) {
	t.Helper()
	if got := stateOf(s); got != want {
		t.Fatalf("state\n got %+v\nwant %+v", got, want)
	}
}

// send sends n packets of length bytes at now, all expected not to wait.
func send(t *testing.T, s *Sender, now time.Time, n, length int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if w := s.Packet(now, length); w != 0 {
			t.Fatalf("packet %d of %d: wait %v, want 0", i+1, n, w)
		}
	}
}

func TestSenderInitial(t *testing.T) {
	s := NewSender(t0)
	check(t, s, state{mul: 24, wbl: 65536, inc: 65536})
	if s.Regime() != "Slow start" || s.Slot() != 16777216*time.Nanosecond || s.Limit() != 65536 {
		t.Fatalf("regime %q, slot %v, limit %d", s.Regime(), s.Slot(), s.Limit())
	}
}

func TestSenderSlowStart(t *testing.T) {
	s := NewSender(t0)
	send(t, s, at(0), 43, 1500) // 64500 bytes ≤ 65536
	// The 44th packet exceeds the limit: wait for the end of slot 0.
	if w := s.Packet(at(1000), 1500); w != slot24-1000 {
		t.Fatalf("wait %d, want %d", w, slot24-1000)
	}
	check(t, s, state{mul: 24, wbl: 65536, inc: 65536, wbc: 66000, wpc: 44, ctr: 44})

	// Slot 1: the limit was exceeded, so it doubles. The opening packet
	// counted in the old window (67500 bytes, 45 packets: no scaling).
	send(t, s, at(slot24), 1, 1500)
	check(t, s, state{mul: 24, slot: 1, wbl: 131072, inc: 65536, ctr: 45})

	// Slot 2, limit not exceeded: it stays.
	send(t, s, at(slot24+1), 10, 1500)
	send(t, s, at(2*slot24), 1, 1500)
	check(t, s, state{mul: 24, slot: 2, wbl: 131072, inc: 65536, ctr: 56})

	// Exactly at the limit is not over it.
	s = NewSender(t0)
	send(t, s, at(0), 8, 8192)
	check(t, s, state{mul: 24, wbl: 65536, inc: 65536, wbc: 65536, wpc: 8, ctr: 8})
	send(t, s, at(slot24), 1, 0)
	if s.Limit() != 65536 {
		t.Fatalf("limit %d after a window of exactly the limit, want 65536", s.Limit())
	}
}

func TestSenderMultiplicativeDecrease(t *testing.T) {
	for _, c := range []struct {
		ece uint16
		wbl uint64
	}{
		{1, 65528},    // 65536 - 65536·1>>13
		{1000, 57536}, // 65536 - 8000
		{4096, 32768}, // halved
		{8191, 8},     // the most a conforming receiver reports
		{8192, 0},     // would wrap in C; stops at 0
		{65535, 0},
	} {
		s := NewSender(t0)
		s.Update(c.ece)
		if s.Regime() != "Multiplicative dec" {
			t.Fatalf("ece %d: regime %q", c.ece, s.Regime())
		}
		send(t, s, at(0), 10, 0)
		send(t, s, at(slot24), 1, 0)
		check(t, s, state{mul: 24, slot: 1, wbl: c.wbl, inc: 65536, ctr: 11, ece: c.ece, cav: true})
	}
}

func TestSenderAdditiveIncrease(t *testing.T) {
	s := NewSender(t0)
	s.Update(0)
	if s.Regime() != "Additive inc" {
		t.Fatalf("regime %q", s.Regime())
	}
	send(t, s, at(0), 10, 1000)
	send(t, s, at(slot24), 1, 1000)
	// wbl = wbc + inc, wbc including the packet that opened slot 1.
	check(t, s, state{mul: 24, slot: 1, wbl: 11000 + 65536, inc: 65536, ctr: 11, cav: true})
}

func TestSenderForgetsECE(t *testing.T) {
	s := NewSender(t0)
	s.Update(100)
	send(t, s, at(0), 32, 100)
	if s.ECE() != 100 || s.Regime() != "Multiplicative dec" {
		t.Fatalf("after 32 packets: ece %d, regime %q", s.ECE(), s.Regime())
	}
	send(t, s, at(0), 1, 100) // tx_ctr 33 > 32
	if s.ECE() != 0 || s.Regime() != "Additive inc" {
		t.Fatalf("after 33 packets: ece %d, regime %q", s.ECE(), s.Regime())
	}
	// The next slot is additive increase: 34 packets of 100 bytes.
	send(t, s, at(slot24), 1, 100)
	check(t, s, state{mul: 24, slot: 1, wbl: 3400 + 65536, inc: 65536, ctr: 34, cav: true})

	// A new FLOW_UPDATE restarts the count.
	s.Update(7)
	if s.ECE() != 7 || s.ctr != 0 {
		t.Fatalf("after update: ece %d, ctr %d", s.ECE(), s.ctr)
	}
}

func TestSenderScaleUp(t *testing.T) {
	// One packet opens slot 8: f = 3 (1·2^3 ≥ 8). The shifted index
	// 8>>3 = 1 has non-zero low bits: no carry.
	s := NewSender(t0)
	send(t, s, at(8*slot24), 1, 1500)
	check(t, s, state{mul: 27, slot: 1, wbl: 65536 << 3, inc: 65536 << 3, ctr: 1})
	if s.Slot() != 1<<27 {
		t.Fatalf("slot %v", s.Slot())
	}

	// Two packets, the second opening slot 1: f = 2. The shifted index
	// 1>>2 = 0 has its low 2 bits zero: carry. The index moves on to
	// coarse slot 1 and the window counters are kept.
	s = NewSender(t0)
	send(t, s, at(0), 1, 1500)
	send(t, s, at(slot24), 1, 1500)
	check(t, s, state{mul: 26, slot: 1, wbl: 65536 << 2, inc: 65536 << 2, wbc: 3000, wpc: 2, ctr: 2})
	// now (2^24 ns) lies in coarse slot 0, but the index says 1, so a
	// throttled sender waits for the end of coarse slot 1: up to two
	// slots, as in the reference.
	if w := s.Packet(at(slot24+5), 300000); w != 1<<27-slot24-5 {
		t.Fatalf("wait %d, want %d", w, 1<<27-slot24-5)
	}

	// The factor for each window packet count.
	for wpc, f := range map[int]uint{1: 3, 2: 2, 3: 2, 4: 1, 7: 1, 8: 0, 64: 0} {
		s = NewSender(t0)
		send(t, s, at(0), wpc-1, 100)
		send(t, s, at(15*slot24), 1, 100) // 15>>f has low f bits set: no carry
		if s.mul != 24+f {
			t.Fatalf("wpc %d: mul %d, want %d", wpc, s.mul, 24+f)
		}
		if s.wbl != 65536<<f || s.inc != 65536<<f || s.wpc != 0 {
			t.Fatalf("wpc %d: wbl %d, inc %d, wpc %d", wpc, s.wbl, s.inc, s.wpc)
		}
	}
}

func TestSenderScaleDown(t *testing.T) {
	// 66 packets in the window: f = 1 (66>>1 = 33 ≤ 64).
	s := NewSender(t0)
	send(t, s, at(0), 65, 100)
	send(t, s, at(slot24), 1, 100)
	check(t, s, state{mul: 23, slot: 2, wbl: 32768, inc: 32768, ctr: 66})

	// 130 packets: f = 2 (130 → 65 → 32).
	s = NewSender(t0)
	send(t, s, at(0), 129, 100)
	send(t, s, at(slot24), 1, 100)
	check(t, s, state{mul: 22, slot: 4, wbl: 16384, inc: 16384, ctr: 130})

	// 64 packets: no scaling.
	s = NewSender(t0)
	send(t, s, at(0), 63, 100)
	send(t, s, at(slot24), 1, 100)
	check(t, s, state{mul: 24, slot: 1, wbl: 65536, inc: 65536, ctr: 64})

	// The index becomes the first fine slot of the coarse one even when
	// now is in a later fine slot (as the reference does).
	s = NewSender(t0)
	send(t, s, at(0), 65, 100)
	now := uint64(slot24 + slot24/2 + 1)
	send(t, s, at(now), 1, 100)
	if s.mul != 23 || s.slot != 2 || now>>s.mul != 3 {
		t.Fatalf("mul %d, slot %d, fine slot of now %d", s.mul, s.slot, now>>s.mul)
	}
}

func TestSenderWaitCapped(t *testing.T) {
	s := NewSender(t0)
	send(t, s, at(8<<24), 1, 0) // mul 27, index 1
	send(t, s, at(8<<27), 1, 0) // mul 30 (slots of 1.07 s), index 1
	check(t, s, state{mul: 30, slot: 1, wbl: 65536 << 6, inc: 65536 << 6, ctr: 2})

	// 5 MB in slot 1 = [2^30, 2^31) ns: over the 4 MiB limit. The slot
	// ends in 2^30 - 1000 ns, more than a second: capped.
	if w := s.Packet(at(1<<30+1000), 5_000_000); w != time.Second {
		t.Fatalf("wait %v, want 1s", w)
	}
	// Half a second before the end of the slot: not capped.
	if w := s.Packet(at(1<<31-500_000_000), 1); w != 500*time.Millisecond {
		t.Fatalf("wait %v, want 500ms", w)
	}
}

func TestSenderClockBeforeOrigin(t *testing.T) {
	s := NewSender(t0)
	if w := s.Packet(t0.Add(-time.Hour), 70000); w != slot24 {
		t.Fatalf("wait %v, want a whole slot", w)
	}
	if s.Packet(at(0), -5); s.wbc != 70000 {
		t.Fatalf("negative length counted: wbc %d", s.wbc)
	}
}

// Slot lengths stay within bounds even for absurdly long idle periods,
// and a sender never waits for more than a second.
func TestSenderLongIdle(t *testing.T) {
	s := NewSender(t0)
	now := t0
	for i := 0; i < 40; i++ {
		now = now.Add(24 * 365 * time.Hour)
		if w := s.Packet(now, 1<<20); w < 0 || w > MaxWait {
			t.Fatalf("wait %v", w)
		}
		if s.mul > maxMul {
			t.Fatalf("mul %d > %d", s.mul, maxMul)
		}
	}
	if s.mul != maxMul {
		t.Fatalf("mul %d after 40 idle years, want %d", s.mul, maxMul)
	}
}
