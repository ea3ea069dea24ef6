package ca

// MB-ECN constants (spec SYSTEM §11.2).
const (
	avgShift      = 5                   // the level is averaged over 2^5 packets
	txWindow      = 1 << avgShift       // packets after which tx_ece is forgotten
	updateEvery   = 1 << (avgShift - 2) // packets between updates
	ecnQueueShift = 4                   // Mark = queued >> 4
)

// Receiver is the RX half of an MB-ECN flow: it turns the ECN bytes of
// arriving packets into the congestion level reported to the sender. The
// zero value is ready for use.
type Receiver struct {
	ece uint16 // rx_ece: congestion level measured on this path
	ctr uint64 // rx_ctr: packets since congestion started
}

// Update accounts one arriving packet with ECN byte ecn (spec SYSTEM
// §8.10). It returns the current level and whether a FLOW_UPDATE carrying
// it must be sent to the peer.
//
// The level cannot exceed 8191: with every packet marked 255 it settles
// between 8160 and 8191, so the sender's multiplicative decrease never
// takes away more than the whole limit.
func (r *Receiver) Update(ecn uint8) (ece uint16, send bool) {
	switch {
	case ecn == 0 && r.ece == 0: // no congestion
		return 0, false
	case ecn == 0: // congestion fading: report once it is gone
		r.ece >>= 2
		return r.ece, r.ece == 0
	case r.ece == 0: // congestion starts: report at once
		r.ece = uint16(ecn)
		r.ctr = 0
		return r.ece, true
	}
	// Congestion goes on: moving average over 32 packets.
	r.ece = r.ece - r.ece>>avgShift + uint16(ecn)
	// The reference tests (rx_ctr++ & 7) == true, i.e. against 1, not 0:
	// the first update after the start of congestion goes out with the
	// second packet of this case, then every eighth. Kept as is.
	send = r.ctr%updateEvery == 1
	r.ctr++
	return r.ece, send
}

// ECE returns the current congestion level (rx_ece).
func (r *Receiver) ECE() uint16 { return r.ece }

// Count returns rx_ctr, the number of continued-congestion packets since
// congestion last started.
func (r *Receiver) Count() uint64 { return r.ctr }
