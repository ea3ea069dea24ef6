// Package operf is the logic of the operf tool (spec APP §6.2): a client
// that sends packets over a flow for a while, flooding or at a rate, and a
// server that counts them (unidirectional test) or echoes them
// (bidirectional test).
//
// The wire format is the reference's, so a Go client can test against a C
// server and the other way round: the first SDU is a 4-byte configuration,
// the test type (0 uni, 1 bi) in host order; every following SDU is a data
// packet of the configured size whose first 4 bytes are its id, counting
// from 0, in host order. Host order is little-endian here, as on every
// platform the reference runs on.
//
// Differences from the reference, all deliberate:
//   - the client sends while the elapsed time is below the duration (the
//     reference's loop condition is inverted, so it sends nothing);
//   - the unidirectional client prints its statistics too, with the packets
//     per second and Mb/s it sent;
//   - the bidirectional client stops reading as soon as every packet came
//     back, instead of always waiting 2 s for a timeout;
//   - the size is clamped to [64, 65535], the largest SDU of this version;
//   - the server reads the configuration with a larger buffer and checks it
//     is exactly 4 bytes (the reference uses its partial-read end marker),
//     reads it without holding up other clients, and keeps accepting flows
//     after a client sent a bad one;
//   - the server takes -Q/--quiet (no line per packet), prints a summary
//     line per flow when it ends, and gives a new flow one more second
//     before timing it out, for the pause the client makes after the
//     configuration;
//   - paced sending without --sleep sleeps through all but the last
//     millisecond of a long gap instead of spinning through all of it;
//   - malformed numbers and a zero rate are errors rather than undefined.
//
// Run is the client and Serve the server; Main, the command cmd/operf
// runs, parses the command line with Parse and calls one of them.
package operf
