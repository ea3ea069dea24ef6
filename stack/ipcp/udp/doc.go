// Package udp is the udp4 and udp6 IPCPs (spec SYSTEM §7): a layer over
// one UDP socket bound to an address and port, the port being the same on
// every member of the layer. Every datagram carries a 4-byte big-endian
// endpoint id (eid): 0 for the 47-byte management messages FLOW_REQ and
// FLOW_REPLY, otherwise the receiver's local eid followed by one SDU. The
// bytes on the wire are the C reference's (wire.go).
//
// # Endpoint ids
//
// The reference uses the receiver's flow descriptor as eid. This IPCP
// hands out small non-zero local eids itself, from a table of MaxFlows
// slots, next-fit, so a released eid is reused as late as possible.
//
// # Directory
//
// Names are known by their MD5 hash. Query looks for the hash in this
// order, and caches a hit for good (entries never age out, as in the
// reference):
//
//  1. the directory cache;
//  2. static entries, from ipcp.UDPConfig.Static or AddStatic (an addition
//     of ours);
//  3. with a DNS server configured: an A (udp4) or AAAA (udp6) query to
//     that server, port 53, for the 32 lowercase hex characters of the
//     hash (as the reference's nslookup does);
//  4. the system resolver on the same name, so /etc/hosts entries work
//     (the reference uses getaddrinfo only when no DNS server is set; we
//     also fall back to it when the server does not know the name).
//
// # DDNS
//
// With a DNS server configured, Reg adds the record "<hex> 86400 A <ip>"
// (AAAA for udp6, where the reference's A record with an IPv6 address
// could never be accepted) with an RFC 2136 dynamic update sent over UDP,
// and Unreg deletes it. The zone is found the way nsupdate finds it: from
// the SOA record the server returns for the name. Updates are unsigned
// (no TSIG), like the reference's nsupdate invocation: the server must
// accept unsigned updates from the IPCP's address. A failed update fails
// Reg (the name is not registered locally either); a failed delete is
// logged and the name is unregistered locally anyway.
//
// # Flow allocation
//
// FlowAlloc sends a FLOW_REQ (the message, the MD5 hash) to the address
// the directory holds, on the layer's port, from the local eid. A
// FLOW_REQ that arrives starts a goroutine (at most MaxPendingReqs) that
// waits for the IRM to find an acceptor, so the reader never waits; the
// source address and the requester's eid are kept for the FLOW_REPLY and
// the data. A FLOW_REPLY is taken only from the address and port the
// request went to. Deallocation is local: the peer is not told.
//
// Two choices differ from the reference, without changing any message:
// a request for a name not registered here, or one the IRM cannot hand
// to an acceptor, is answered at once with a FLOW_REPLY carrying the
// error code (the reference stays silent and the requester waits out its
// allocation timeout, spec SYSTEM §15 gotcha 4); and the OAP header that
// follows the hash or the reply message is neither sent nor passed on,
// because the IPCP and IRM interfaces carry none yet (the codec does).
//
// # Data path
//
// One reader goroutine receives up to Batch datagrams per system call
// into buffers it owns: recvmmsg called directly on Linux, so that nothing
// is allocated per datagram (golang.org/x/net's ReadBatch allocates the
// source address of each), and x/net's ReadBatch elsewhere. It hands each
// SDU to its flow's node end by eid without waiting: when that end is
// full the SDU is dropped and counted, so one slow application cannot
// stall the layer. To absorb the bursts a batch brings, the IPCP asks a
// larger socket buffer for the node end of each flow (flowBuffer).
// Management messages are handled on the same goroutine. A single reader
// keeps the datagrams of a flow in order (the reference's three readers
// may reorder them).
//
// Each flow has a writer goroutine that reads SDUs from its node end into
// pooled buffers with EIDLen bytes of headroom, writes the remote eid in
// place in front, and sends up to Batch datagrams per system call
// (sendmmsg through x/net's WriteBatch). SDUs longer than the maximum are
// dropped and counted. Neither path allocates per packet.
//
// A flow whose other end is an IPCP of the same node (a unicast IPCP's
// N-1 flow) also has an in-process port (ipcp.Port, port.go): the reader
// hands its SDUs to the upper IPCP's receiver in the reader's own buffer,
// and the upper IPCP's packets are copied into pooled buffers and queued
// for one data writer per IPCP, which sends up to Batch per system call,
// with no socket pair between the two.
//
// Every drop is an atomic counter in Stats; the data path does not log.
package udp
