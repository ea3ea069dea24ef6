package ca

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Policy is the layer's cong_avoid (spec SYSTEM §8.10, §10.4
// uni_config_msg field 4). Its values are those of ipcp.CongNone and
// ipcp.CongMBECN.
type Policy uint8

// The congestion avoidance policies.
const (
	None  Policy = 0 // no marking, no throttling, no updates
	MBECN Policy = 1 // multi-bit ECN, the default
)

// ErrPolicy reports a cong_avoid value that names no policy.
var ErrPolicy = errors.New("ca: unknown congestion avoidance policy")

// String returns the policy's name as the irm tool spells it ("none",
// "mb-ecn").
func (p Policy) String() string {
	switch p {
	case None:
		return "none"
	case MBECN:
		return "mb-ecn"
	}
	return "policy(" + strconv.Itoa(int(p)) + ")"
}

// Valid reports whether p names a policy.
func (p Policy) Valid() bool { return p == None || p == MBECN }

// Mark returns the congestion mark a hop ORs into the ECN byte of a packet
// it transmits on an N-1 flow with queued packets waiting in its TX ring:
// Mark(queued) for MB-ECN, 0 for None and for unknown policies.
func (p Policy) Mark(queued int) uint8 {
	if p != MBECN {
		return 0
	}
	return Mark(queued)
}

// NewFlow returns the per-flow state of policy p for an N+1 flow set up at
// now. The None flow is a zero-size value and costs no allocation; the
// MB-ECN flow is one *MBECNFlow.
func (p Policy) NewFlow(now time.Time) (Flow, error) {
	switch p {
	case None:
		return NopFlow{}, nil
	case MBECN:
		return NewMBECNFlow(now), nil
	}
	return nil, fmt.Errorf("%w: %d", ErrPolicy, uint8(p))
}

// Mark is the MB-ECN marking of a hop whose outgoing N-1 TX ring holds
// queued packets: queued >> 4 as a byte, non-zero from 16 queued packets
// on. The reference casts to uint8_t, which would wrap for queues of 4096
// packets and more; those cannot occur with its 1024-slot rings, and Mark
// saturates at 255 instead. A negative count marks nothing.
func Mark(queued int) uint8 {
	switch {
	case queued < 0:
		return 0
	case queued>>ecnQueueShift > 0xff:
		return 0xff
	}
	return uint8(queued >> ecnQueueShift)
}

// Flow is the congestion avoidance state of one N+1 flow, of either
// policy. None of its methods allocates.
type Flow interface {
	// Send accounts one N+1 packet of length bytes about to be written
	// to DT at now, and returns how long the flow allocator must sleep
	// before writing it (0: no wait; never more than one second).
	Send(now time.Time, length int) time.Duration
	// Receive accounts one N+1 packet that arrived with the PCI's ECN
	// byte ecn. If send is true the flow allocator sends the peer a
	// FLOW_UPDATE carrying ece.
	Receive(ecn uint8) (ece uint16, send bool)
	// Update applies the congestion level ece of a FLOW_UPDATE from the
	// peer.
	Update(ece uint16)
	// Stats returns the state for the RIB; ok is false for a policy that
	// has nothing to show (None, like the reference's nop policy).
	Stats() (st Stats, ok bool)
}

// NopFlow is the flow state of Policy None: it never waits, never asks for
// an update and ignores updates.
type NopFlow struct{}

// Send returns 0.
func (NopFlow) Send(time.Time, int) time.Duration { return 0 }

// Receive returns 0, false.
func (NopFlow) Receive(uint8) (uint16, bool) { return 0, false }

// Update does nothing.
func (NopFlow) Update(uint16) {}

// Stats returns false: the nop policy has no RIB block.
func (NopFlow) Stats() (Stats, bool) { return Stats{}, false }

// MBECNFlow is the flow state of Policy MBECN: a Sender for the TX path
// and a Receiver for the RX path.
type MBECNFlow struct {
	Sender   Sender
	Receiver Receiver
}

// NewMBECNFlow returns the MB-ECN state of a flow set up at now.
func NewMBECNFlow(now time.Time) *MBECNFlow {
	f := &MBECNFlow{}
	f.Sender.Reset(now)
	return f
}

// Send is f.Sender.Packet.
func (f *MBECNFlow) Send(now time.Time, length int) time.Duration {
	return f.Sender.Packet(now, length)
}

// Receive is f.Receiver.Update.
func (f *MBECNFlow) Receive(ecn uint8) (uint16, bool) { return f.Receiver.Update(ecn) }

// Update is f.Sender.Update.
func (f *MBECNFlow) Update(ece uint16) { f.Sender.Update(ece) }

// Stats returns the state of both halves.
func (f *MBECNFlow) Stats() (Stats, bool) {
	st := Stats{
		Algorithm:   "Multi-bit ECN",
		ReceiverECE: f.Receiver.ece,
		ReceiverCtr: f.Receiver.ctr,
	}
	f.Sender.stats(&st)
	return st, true
}

// Stats is a snapshot of an MB-ECN flow for the RIB (spec SYSTEM §12.1,
// flow-allocator/<fd>).
type Stats struct {
	Algorithm     string        // "Multi-bit ECN"
	SenderECE     uint16        // tx_ece: the peer's last reported level
	SenderCtr     uint64        // tx_ctr: packets sent since that report
	ReceiverECE   uint16        // rx_ece: the level measured on arrival
	ReceiverCtr   uint64        // rx_ctr
	Slot          time.Duration // the slot (window) length, 2^mul ns
	WindowPackets uint64        // wpc: packets in the current window
	WindowBytes   uint64        // wbc: bytes in the current window
	ByteLimit     uint64        // wbl: bytes allowed per window
	Regime        string        // "Slow start", "Multiplicative dec" or "Additive inc"
}

// String formats st as the reference's RIB block: one "label: value" line
// per field, values right-aligned in 20 columns. Like the reference it
// labels the sender's level (tx_ece) "Upstream" and the receiver's
// (rx_ece) "Downstream", although its own field comments call rx_ece the
// upstream level.
func (st Stats) String() string {
	var b strings.Builder
	line := func(label string, v any) {
		fmt.Fprintf(&b, "%-33s%20v\n", label+":", v)
	}
	line("Congestion avoidance algorithm", st.Algorithm)
	line("Upstream congestion level", st.SenderECE)
	line("Upstream packet counter", st.SenderCtr)
	line("Downstream congestion level", st.ReceiverECE)
	line("Downstream packet counter", st.ReceiverCtr)
	line("Congestion window size (ns)", st.Slot.Nanoseconds())
	line("Packets in this window", st.WindowPackets)
	line("Bytes in this window", st.WindowBytes)
	line("Max bytes in this window", st.ByteLimit)
	line("Current congestion regime", st.Regime)
	return b.String()
}
