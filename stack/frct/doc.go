// Package frct is the Flow and Retransmission Control protocol (spec APP
// §4): the end-to-end protocol an application library runs on a flow that
// asks for in-order delivery. It is the reference's, byte for byte: the
// 12-byte PCI, its flags and control PDUs, sequencing and in-order delivery
// through a 256-slot reorder queue, ARQ with RTT estimation and RTO for
// reliable flows, flow control with a window and rendezvous, and Delta-t
// run management without a handshake.
//
// Conn is the state of one flow's FRCT and does no I/O of its own: the
// caller hands it the PDUs it reads, takes from it the SDUs to deliver,
// writes the data PDUs it prepares, and runs Tick when Deadline says so.
// The PDUs Conn sends on its own (acknowledgements, window updates,
// rendezvous, retransmissions) go through Config.Output, which must not
// block: a control PDU that cannot be written at once is lost, as on the
// wire, and the protocol recovers it.
//
// Where the reference has a bug the spec names, this package does what the
// reference meant (all of them local, none changes a byte on the wire):
// retransmissions are prepared from a kept plaintext PDU so that the
// caller encrypts and checksums them like any other; a receiver of a
// reliable flow acknowledges as soon as a quarter of its window is waiting
// for an acknowledgement, and again once the application has taken SDUs;
// a receiver of an unreliable ordered flow advertises its window as it
// moves instead of only answering rendezvous; an unreliable ordered
// receiver never loses an SDU it has stored because a later one arrived.
package frct
