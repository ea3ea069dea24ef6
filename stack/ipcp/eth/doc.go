// Package eth is the Ethernet IPCPs, eth-dix and eth-llc (spec SYSTEM §6):
// a layer over one Ethernet segment, one package for both types as in the
// reference. Names are found by broadcast query, flows are set up with
// management frames, and each data frame carries an endpoint id (DIX) or a
// pair of SAPs (LLC) in front of the SDU.
//
// Frame I/O is behind the batch-shaped Link interface: AF_PACKET on Linux
// (OpenAFPacket), and an in-memory switch for tests (package ethtest). A
// link that reports its carrier (Carrier: netlink link updates for
// AF_PACKET) makes the IPCP tell the IRM when its flows' layer goes down
// and comes back up, which the IRM passes on to the applications.
//
// Goroutines, all owned by the IPCP and waited for by Close: one reader
// (link → N+1 flows), one writer (management frames and what the ports
// queued: bounded queues → link), one management worker, one pump per
// flow (the flow's node end → link), and one per flow request waiting for
// an acceptor (at most 64).
//
// Packets: a pump reads an SDU into a pooled buffer behind the header's
// room and writes the header in front; it takes what else its application
// has queued and hands the link up to 64 frames per call itself, so data
// crosses no goroutine between the application and the link. The reader reads up to 64 frames per call into buffers
// it allocated once and writes each SDU to its flow without waiting. No
// step allocates. Every drop is counted in Stats, never logged.
//
// A flow whose other end is an IPCP of the same node (a unicast IPCP's
// N-1 flow) also has an in-process port (ipcp.Port, port.go): the reader
// hands its SDUs to the upper IPCP's receiver in the reader's own buffer,
// and the upper IPCP's packets are copied into pooled frames and queued
// for the writer, with no socket pair between the two.
//
// Departures from the reference that do not change the wire: frames to
// another unicast address are dropped (the reference's check is a no-op);
// a FLOW_REPLY is taken only from the address the request went to; the
// flow table is updated for a positive FLOW_REPLY by the reader itself, so
// data right behind the reply is not lost; LLC frames other than UI, or
// with a length below 3, are dropped; unused message fields are zero (the
// reference leaves some uninitialised). The OAP data after the hash of a
// FLOW_REQ is not passed on: ipcp.IRM has no place for it yet.
package eth
