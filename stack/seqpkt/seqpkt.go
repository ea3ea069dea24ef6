// Package seqpkt is the data channel of a flow between an application and
// its node: one end of a unix SOCK_SEQPACKET socket pair, one packet per
// datagram. The kernel gives buffering, back-pressure and wake-ups; when a
// process dies its ends close and the other side reads end of flow at once.
//
// A Conn is non-blocking underneath and waits on the Go netpoller, so
// deadlines work. The per-packet path does not allocate.
//
// Zero-length packets are legal (the reference uses them as keepalives). A
// read that returns zero bytes is told apart from the end of the flow by
// asking the kernel whether the peer hung up.
package seqpkt

import "errors"

// ErrPeerClosed is returned once the other end has closed and every packet
// it sent has been read.
var ErrPeerClosed = errors.New("peer closed the flow")

// ErrWouldBlock is returned by TryRead and TryWrite when they would wait.
var ErrWouldBlock = errors.New("operation would block")

// MaxPacket is the largest packet the channel carries.
const MaxPacket = 1<<16 - 1
