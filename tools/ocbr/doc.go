// Package ocbr is the logic of the ocbr tool (spec APP §6.4): a client that
// sends packets of a fixed size to a server at a constant bit rate (or as
// fast as it can, flooding) for a while, and a server that counts what
// arrives on up to MaxFlows flows at once and reports, per flow and per
// interval, the packets, bytes, packets per second and Mb/s.
//
// The wire format is the reference's, so a Go client can feed a C server
// and the other way round: every SDU is a packet of the configured size;
// a paced packet starts with its sequence number, counting from 0, as a
// signed 64-bit integer in host order (little-endian here, as on every
// platform the reference runs on); a flood packet is not stamped. The
// server reads no field of a packet: it counts packets and bytes.
//
// The reference's lines are kept as they are, and so are its exit
// statuses: an unknown option prints the usage and exits 0, the other
// mistakes exit 1. Differences from the reference, all deliberate:
//   - -q/--qos (raw, best, video, voice, data) is ours: the reference always
//     allocates raw; with the others the stream runs over FRCT, and the
//     server (per report) and the client (at the end) print one more line,
//     "      FRCT: <n> retransmissions, <n> duplicates";
//   - paced sending keeps to a schedule that follows the start, not the last
//     wake-up: --sleep sleeps until the next packet is due rather than for a
//     whole gap after each write, so the rate holds; a sender late by more
//     than a gap starts afresh instead of bursting to catch up;
//   - the server's report intervals follow one another: each report covers
//     the time since the last one (the reference starts the next interval
//     at the previous one's planned end, so consecutive reports overlap by
//     the report's lateness);
//   - a flow that goes down is treated as a silent one, as the reference's
//     reads see it: its test ends after the timeout with the timed-out line
//     and the final report, without the reference's busy loop;
//   - malformed numbers, a negative duration and an interval or timeout
//     that is not positive are errors rather than undefined; a rate with a
//     unit other than k, M or G is one too; --spin wins over --sleep
//     whatever their order;
//   - a write still blocked a second after the duration (a full flow, a
//     reader that does not read) ends the test, where the reference's
//     would wait;
//   - a write that fails ends the test as in the reference (statistics,
//     deallocation), and the command then exits 1 with the reason on
//     stderr; so does a size the flow cannot carry (this version's flows
//     carry at most 65535 bytes, less FRCT's header on an FRCT flow);
//   - with 0 ms elapsed the client prints 0 Mb/s rather than a division by
//     zero, and the server 0 pps and 0 Mbps for an empty interval.
//
// Run is the client and Serve the server; Main, the command cmd/ocbr runs,
// parses the command line with Parse and calls one of them. The server
// serves each flow on a goroutine of its own with blocking reads of
// 100 ms, as the reference's worker threads do, rather than in the shared
// event-set loop: its reports are per flow and per interval, it limits
// the flows it takes, and its "New flow." line carries no descriptor.
package ocbr
