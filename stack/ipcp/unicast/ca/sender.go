package ca

import (
	"math/bits"
	"time"
)

// MB-ECN sender constants (spec SYSTEM §11.2).
const (
	initMul    = 24      // initial slot: 2^24 ns, about 16.8 ms
	initLimit  = 1 << 16 // CA_IWL: initial bytes per slot, about 4 MiB/s
	initInc    = 1 << 16 // CA_INC: additive increase per slot
	minPerSlot = 8       // CA_MINPS: scale the slot up below this
	maxPerSlot = 64      // CA_MAXPS: scale the slot down above this
	decShift   = avgShift + 8

	// maxMul bounds the slot at 2^56 ns (over two years) so that slot
	// arithmetic stays within 64 bits; the reference has no bound, and
	// reaching it takes a flow idle for about as long.
	maxMul = 56
)

// MaxWait is the longest a sender is ever told to sleep: the reference
// sleeps one second when the end of the slot is further away.
const MaxWait = time.Second

// Regimes of the sender, as the RIB shows them.
const (
	RegimeSlowStart = "Slow start"
	RegimeDecrease  = "Multiplicative dec"
	RegimeIncrease  = "Additive inc"
)

// Sender is the TX half of an MB-ECN flow: it limits the bytes the flow
// sends per time slot. Use NewSender, or Reset a zero value, before use.
type Sender struct {
	origin time.Time // instant of slot 0
	slot   uint64    // tx_slot: index of the current slot, in 2^mul ns
	mul    uint      // tx_mul: log2 of the slot length in ns
	wbl    uint64    // tx_wbl: byte limit per slot
	inc    uint64    // tx_inc: additive increase per slot
	wbc    uint64    // tx_wbc: bytes in the current window
	wpc    uint64    // tx_wpc: packets in the current window
	ctr    uint64    // tx_ctr: packets since the last FLOW_UPDATE
	ece    uint16    // tx_ece: the peer's last reported level
	cav    bool      // tx_cav: false in slow start
}

// NewSender returns the sender state of a flow set up at now.
func NewSender(now time.Time) *Sender {
	s := &Sender{}
	s.Reset(now)
	return s
}

// Reset puts s in its initial state, with slot 0 starting at now: slow
// start, slots of 2^24 ns, a limit and an increase of 65536 bytes.
func (s *Sender) Reset(now time.Time) {
	*s = Sender{
		origin: now,
		mul:    initMul,
		wbl:    initLimit,
		inc:    initInc,
	}
}

// elapsed is now in ns since slot 0 started; instants before it count as
// the start itself.
func (s *Sender) elapsed(now time.Time) uint64 {
	d := now.Sub(s.origin)
	if d < 0 {
		return 0
	}
	return uint64(d)
}

// Packet accounts one packet of length bytes sent at now and returns how
// long the caller must sleep before writing it: until the end of the
// current slot if the slot's byte limit is exceeded, at most MaxWait;
// otherwise 0.
func (s *Sender) Packet(now time.Time, length int) (wait time.Duration) {
	t := s.elapsed(now)
	slot := t >> s.mul

	s.ctr++
	s.wpc++
	if length > 0 {
		s.wbc += uint64(length)
	}
	if s.ctr > txWindow { // the last report is stale
		s.ece = 0
	}

	// As in the reference, the packet that opens a new slot has been
	// counted in the window it closes; the new window starts empty.
	if int64(slot-s.slot) > 0 {
		s.nextSlot(slot)
	}

	if s.wbc <= s.wbl {
		return 0
	}
	end := (s.slot + 1) << s.mul
	if end <= t { // cannot happen with the counters just reset; no wait
		return 0
	}
	if d := end - t; d < uint64(MaxWait) {
		return time.Duration(d)
	}
	return MaxWait
}

// nextSlot adapts the limit and the slot length when time has moved on to
// slot (counted in the current slot length).
func (s *Sender) nextSlot(slot uint64) {
	s.slot = slot

	switch {
	case !s.cav: // slow start
		if s.wbc > s.wbl {
			s.wbl <<= 1
		}
	case s.ece > 0: // multiplicative decrease
		hi, lo := bits.Mul64(s.wbl, uint64(s.ece))
		dec := hi<<(64-decShift) | lo>>decShift
		if dec < s.wbl {
			s.wbl -= dec
		} else { // ece >= 8192, which no conforming receiver sends
			s.wbl = 0
		}
	default: // additive increase
		s.wbl = s.wbc + s.inc
	}

	carry := false
	switch {
	case s.wpc < minPerSlot: // too few packets: longer slots
		// Nothing bounds this but maxMul: on an idle flow every packet
		// that opens a slot makes it up to 8 times longer, the limit
		// with it (as in the reference).
		f := uint(0)
		for p := s.wpc; p < minPerSlot; p <<= 1 { // wpc >= 1 here
			f++
		}
		f = min(f, maxMul-s.mul)
		if f == 0 {
			break
		}
		s.mul += f
		s.slot >>= f
		// The reference tests the low f bits of the slot index after
		// shifting it (not of the fine index before), and on success
		// moves the index to the next coarse slot and keeps counting in
		// the same window. Kept as is.
		if s.slot&(1<<f-1) == 0 {
			carry = true
			s.slot++
		}
		s.wbl <<= f
		s.inc <<= f
	case s.wpc > maxPerSlot: // too many packets: shorter slots
		f := uint(0)
		for p := s.wpc; p > maxPerSlot; p >>= 1 {
			f++
		}
		f = min(f, s.mul)
		s.mul -= f
		// The first fine slot of the coarse one, as in the reference,
		// not necessarily the fine slot that holds now.
		s.slot <<= f
		s.wbl >>= f
		s.inc >>= f
	}

	if !carry {
		s.wbc = 0
		s.wpc = 0
	}
}

// Update applies a FLOW_UPDATE from the peer carrying level ece: it ends
// slow start for good and restarts the count of packets after which ece
// is forgotten.
func (s *Sender) Update(ece uint16) {
	s.ece = ece
	s.ctr = 0
	s.cav = true
}

// Regime names the sender's regime as the RIB shows it: RegimeSlowStart
// before the first FLOW_UPDATE, then RegimeDecrease while the peer's
// level is non-zero, else RegimeIncrease.
func (s *Sender) Regime() string {
	switch {
	case !s.cav:
		return RegimeSlowStart
	case s.ece > 0:
		return RegimeDecrease
	}
	return RegimeIncrease
}

// Slot returns the current slot length, 2^mul ns.
func (s *Sender) Slot() time.Duration { return time.Duration(1) << s.mul }

// Limit returns the byte limit per slot (tx_wbl).
func (s *Sender) Limit() uint64 { return s.wbl }

// ECE returns the peer's last reported level (tx_ece), 0 once more than 32
// packets went out since.
func (s *Sender) ECE() uint16 { return s.ece }

func (s *Sender) stats(st *Stats) {
	st.SenderECE = s.ece
	st.SenderCtr = s.ctr
	st.Slot = s.Slot()
	st.WindowPackets = s.wpc
	st.WindowBytes = s.wbc
	st.ByteLimit = s.wbl
	st.Regime = s.Regime()
}
