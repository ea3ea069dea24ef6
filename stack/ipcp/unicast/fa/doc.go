// Package fa is the wire format of the unicast IPCP's flow allocator
// (spec SYSTEM §8.6): the FLOW_REQ, FLOW_REPLY and FLOW_UPDATE messages
// that travel in DT packets to endpoint id 0 on QoS cube BE, and the
// layout of the 64-bit endpoint ids the flow allocator hands out. It holds
// the codec only: no goroutines, no I/O.
//
// # Layout
//
// Every message starts with the same MsgLen = 61-byte packed struct (the
// reference's struct fa_msg in src/ipcpd/unicast/fa.c); every multi-byte
// field is big-endian, unlike the DT PCI in front of it (spec SYSTEM §15
// gotcha 6):
//
//	off size field
//	0   8    s_addr: requester address (FLOW_REQ)
//	8   8    r_eid: receiver's endpoint id (FLOW_REPLY, FLOW_UPDATE)
//	16  8    s_eid: sender's endpoint id (FLOW_REQ, FLOW_REPLY)
//	24  8    qos.bandwidth, bit/s (FLOW_REQ)
//	32  4    response, int32 (FLOW_REPLY)
//	36  4    qos.delay, ms (FLOW_REQ)
//	40  4    qos.loss (FLOW_REQ)
//	44  4    qos.ber (FLOW_REQ)
//	48  4    qos.max_gap, ms (FLOW_REQ)
//	52  4    qos.timeout, ms (FLOW_REQ)
//	56  2    ece: congestion level (FLOW_UPDATE, spec SYSTEM §8.10)
//	58  1    code: FLOW_REQ 0, FLOW_REPLY 1, FLOW_UPDATE 2
//	59  1    qos.availability (FLOW_REQ)
//	60  1    qos.in_order (FLOW_REQ)
//
// Fields a message does not use are zero when the reference sends it
// (it memsets the struct) and ignored when it receives it; Parse keeps
// them all, so a parsed message re-encodes to the same bytes.
//
// What follows the struct depends on the code: a FLOW_REQ carries the
// destination name's hash (the layer's directory hash length) and then
// the requester's OAP header; a FLOW_REPLY carries the responder's OAP
// header; a FLOW_UPDATE carries nothing (the reference ignores anything
// there). Messages shorter than MsgLen or longer than MaxMsgLen (2048,
// the reference's MSGBUFSZ) are refused, as the reference discards them.
//
// # Endpoint ids
//
// The reference builds an endpoint id as (random32 << 32) | fd (gen_eid)
// and finds the flow of an incoming id by its low 32 bits, then checks
// the whole 64-bit value (eid_to_fd). MakeEID and EIDSlot do the same
// arithmetic; the slot is the reference's fd and must be at least
// dt.MinFlowEID (64) for the data path to treat the id as a flow.
package fa
