package ca

import "testing"

type rxStep struct {
	ecn  uint8
	ece  uint16
	send bool
	ctr  uint64 // rx_ctr after the step
}

func runRx(t *testing.T, r *Receiver, steps []rxStep) {
	t.Helper()
	for i, st := range steps {
		ece, send := r.Update(st.ecn)
		if ece != st.ece || send != st.send || r.Count() != st.ctr || r.ECE() != st.ece {
			t.Fatalf("step %d: Update(%d) = %d, %v (rx_ece %d, rx_ctr %d); want %d, %v, rx_ctr %d",
				i, st.ecn, ece, send, r.ECE(), r.Count(), st.ece, st.send, st.ctr)
		}
	}
}

// Case 1 of spec SYSTEM §8.10: ecn = 0 and rx_ece = 0 change nothing.
func TestReceiverIdle(t *testing.T) {
	var r Receiver
	runRx(t, &r, []rxStep{{0, 0, false, 0}, {0, 0, false, 0}})
	if r != (Receiver{}) {
		t.Fatalf("state changed: %+v", r)
	}
}

// Case 3: the first marked packet sets rx_ece = ecn, resets rx_ctr and
// asks for an update at once.
func TestReceiverStart(t *testing.T) {
	r := Receiver{ctr: 17} // left over from an earlier episode
	runRx(t, &r, []rxStep{{5, 5, true, 0}})
}

// Case 4: rx_ece = rx_ece - rx_ece>>5 + ecn; an update when rx_ctr mod 8
// is 1 before the increment (the reference's "== true").
func TestReceiverContinued(t *testing.T) {
	var r Receiver
	runRx(t, &r, []rxStep{
		{64, 64, true, 0},   // start
		{64, 126, false, 1}, // 64 - 2 + 64, rx_ctr was 0
		{64, 187, true, 2},  // 126 - 3 + 64, rx_ctr was 1: update
		{64, 246, false, 3}, // 187 - 5 + 64
		{64, 303, false, 4}, // 246 - 7 + 64
		{1, 295, false, 5},  // 303 - 9 + 1
	})
	// rx_ctr was 5..8: no update; 9: update; 10..16: none; 17: update.
	for ctr := uint64(5); ctr < 40; ctr++ {
		_, send := r.Update(1)
		if want := ctr%8 == 1; send != want {
			t.Fatalf("rx_ctr %d: send %v, want %v", ctr, send, want)
		}
	}
}

// Case 2: unmarked packets divide the level by 4 each, and the update goes
// out only when it reaches 0.
func TestReceiverEnd(t *testing.T) {
	r := Receiver{ece: 303, ctr: 4}
	runRx(t, &r, []rxStep{
		{0, 75, false, 4},
		{0, 18, false, 4},
		{0, 4, false, 4},
		{0, 1, false, 4},
		{0, 0, true, 4}, // congestion over: tell the sender
		{0, 0, false, 4},
		{3, 3, true, 0}, // a new episode
	})
}

// A marked packet during the decay counts as continued congestion.
func TestReceiverDecayInterrupted(t *testing.T) {
	r := Receiver{ece: 75, ctr: 1}
	runRx(t, &r, []rxStep{{1, 74, true, 2}}) // 75 - 2 + 1, rx_ctr was 1
}

// The level stays below 8192 whatever the marks, so the sender's
// multiplicative decrease (wbl·ece >> 13) never exceeds its limit.
func TestReceiverBound(t *testing.T) {
	var r Receiver
	var top uint16
	for i := 0; i < 100000; i++ {
		ece, _ := r.Update(255)
		top = max(top, ece)
	}
	if top > 8191 || r.ECE() < 8160 {
		t.Fatalf("max level %d, final %d; want ≤ 8191 and a final level in [8160, 8191]", top, r.ECE())
	}
}
