// Package ca is the congestion avoidance of the unicast IPCP (spec SYSTEM
// §8.10, §8.6 FLOW_UPDATE, §11.2 MB-ECN constants). The layer's cong_avoid
// picks one of two policies, Policy None (0: no marking, no throttling, no
// updates) or Policy MBECN (1, the default: multi-bit ECN).
//
// It is pure logic: no goroutines, no timers, no I/O. The clock is passed
// in by the caller and the sender returns how long to sleep instead of
// sleeping, so every result is deterministic.
//
// # How the IPCP uses it
//
// Marking, on every DT write (the originator's dt_write_packet and every
// forwarding hop alike): after choosing the next-hop N-1 flow, OR
//
//	Policy.Mark(number of packets queued in that flow's TX ring)
//
// into the PCI's ECN byte (dt.Header.OrECN). For MB-ECN that is
// Mark(queued) = queued >> 4, so the byte turns non-zero once 16 packets
// wait in the outgoing ring (at most 64 with the 1024-slot ring) and the
// marks of all hops accumulate by bitwise OR. None never marks.
//
// Per N+1 flow, the flow allocator creates one Flow with Policy.NewFlow
// when the flow is set up and drops it on deallocation:
//
//   - N+1 TX, before dt_write_packet: wait := f.Send(now, len(sdu)); then,
//     outside any lock, sleep for wait if it is positive; then write. The
//     wait is the time until the end of the current slot, at most one
//     second, and is only non-zero when the slot's byte budget is spent.
//   - N+1 RX (a DT packet for an eid ≥ 64): ece, send := f.Receive(ecn)
//     with the PCI's ECN byte; deliver the SDU; if send, emit a
//     FLOW_UPDATE carrying ece to the peer's endpoint.
//   - FLOW_UPDATE received: f.Update(msg.ECE).
//   - RIB (flow-allocator/<fd>): if st, ok := f.Stats(); ok, append
//     st.String(), the reference's CA block. The nop policy has none.
//
// The MB-ECN flow is a Sender (the TX half) and a Receiver (the RX half);
// both can also be used on their own. Neither the Flow nor its halves are
// safe for concurrent use: the caller serialises the calls on one flow, as
// the reference does under the flow allocator's flow table lock. The two
// halves share no state, so they may be guarded separately, but note that
// Update (from the RX path) and Send (from the TX path) both touch the
// Sender.
//
// Nothing on the per-packet paths (Mark, Send, Receive, Update) allocates,
// through the Flow interface or not.
//
// # Receiver
//
// Per flow: rx_ece (the congestion level, 16 bits) and rx_ctr. For each
// packet with ECN byte ecn:
//
//	ecn = 0, rx_ece = 0: nothing
//	ecn = 0, rx_ece > 0: rx_ece >>= 2; send an update when it reaches 0
//	ecn > 0, rx_ece = 0: rx_ece = ecn, rx_ctr = 0; send an update
//	ecn > 0, rx_ece > 0: rx_ece += ecn - rx_ece>>5; send an update when
//	                     rx_ctr mod 8 = 1; then rx_ctr++
//
// # Sender
//
// Time is cut into slots of 2^mul ns (initially mul = 24, about 16.8 ms).
// Per slot the sender may send tx_wbl bytes (initially 65536). On every
// packet it counts tx_ctr, the window's packets wpc and bytes wbc, and
// forgets the peer's congestion level tx_ece once more than 32 packets
// went out since the last FLOW_UPDATE. When a packet falls in a later slot
// the byte limit is adapted (slow start until the first FLOW_UPDATE:
// double it if it was exceeded; afterwards multiplicative decrease
// wbl -= wbl·tx_ece >> 13 while tx_ece > 0, else additive increase
// wbl = wbc + tx_inc), the slot is rescaled to hold 8 to 64 packets
// (scaling wbl and tx_inc with it) and the window counters restart.
//
// Slots are counted from the instant the Sender was created (Reset, or
// NewFlow's now) rather than from the zero of the system's monotonic
// clock as in the reference: both origins are arbitrary, and time.Time's
// monotonic reading makes the difference immune to wall-clock steps.
//
// # Reference oddities followed here
//
// The C reference is src/ipcpd/unicast/ca/mb-ecn.c. Behaviour kept on
// purpose although it looks unintended (each is commented where it is
// implemented):
//
//   - the receiver's update test compares rx_ctr mod 8 with 1 (C "true"),
//     so after the start of congestion the next update goes out on the
//     second continued-congestion packet, then on every eighth;
//   - the packet that moves the sender into a new slot is counted in the
//     window that it closes, and the new window starts empty;
//   - the carry test on scaling up looks at the low bits of the slot index
//     after it was shifted; when it fires the slot index is moved one
//     (coarse) slot ahead, so the carried window lasts until the end of
//     the next slot and a throttled sender may be told to wait up to two
//     slots (still capped at one second);
//   - on scaling down the slot index becomes the first fine slot of the
//     current coarse slot, not the fine slot that holds now;
//   - an idle flow's slot keeps growing: every packet that finds a new
//     slot with fewer than 8 packets in the window multiplies the slot and
//     the limit by up to 8, so after a quiet spell a burst is held only to
//     that scaled limit until the long slot ends;
//   - the RIB block prints the sender's level (tx_ece) as "Upstream" and
//     the receiver's (rx_ece) as "Downstream", the reverse of the
//     reference's own field comments.
//
// Departures from the reference, none reachable in normal operation:
// Mark saturates at 255 where the C cast would wrap (only for queues of
// 4096 packets or more, four times the ring size); the multiplicative
// decrease stops at a zero limit where size_t arithmetic would wrap (only
// for ece ≥ 8192, which a conforming receiver never sends: rx_ece stays
// below 8192 even if every packet is marked 255); and mul is kept within
// [0, 56] where C would shift by out-of-range amounts (slots under a
// nanosecond or over two years).
package ca
