// Package oping is the logic of the oping tool (spec APP §6.1): a client
// that measures round-trip times to an oping server over a flow, and the
// server that echoes its requests.
//
// The wire format is the reference's, so a Go client can ping a C server and
// the other way round: a 24-byte header (type and id big-endian, the
// sender's CLOCK_MONOTONIC seconds and nanoseconds in host order) at the
// start of every packet, the rest zero. The server echoes the whole packet
// with only the type changed.
//
// Differences from the reference, all deliberate:
//   - the summary has one more line, rtt p50/p99, after the rtt line;
//   - the loss percentage is computed exactly in integers (the reference's
//     float32 arithmetic prints 48% for 53 of 100 received);
//   - RTTs have nanosecond rather than microsecond resolution;
//   - QoS specs that need FRCT (best, video, voice, data) are refused by
//     this version's library: the client fails ("Failed to allocate flow"
//     with the error code, the reason on stderr) rather than silently
//     pinging over raw;
//   - a client whose flow goes down (the server died) stops with an error
//     instead of spinning, and a flood read gives up after 2 s of silence
//     instead of waiting forever;
//   - the server drops a flow as soon as its peer is gone instead of 10 s
//     later, gives up a reply after 1 s when the client does not read, and
//     with --poll spins over its flows with non-blocking reads;
//   - -h and --help print the help and exit 0; malformed numbers are
//     errors rather than silently zero.
//
// Run is the client and Serve the server; Main, the command cmd/oping
// runs, parses the command line with Parse and calls one of them.
package oping
