// Package dev is the Ouroboros application library: a program attaches to
// its system's node (onode), allocates flows to names, accepts flows for
// the names it is bound to, or joins flows to broadcast layers (Join), and
// reads and writes SDUs on them (spec APP §2).
//
//	c, err := dev.Dial(ctx, dev.SockPath())   // or use the package functions
//	f, err := c.Alloc(ctx, "oping", qos.Raw)
//	f.Write(sdu); n, err := f.Read(buf)
//	f.Close()
//
// A Flow carries one SDU per Write and returns one SDU per Read; it is also
// a net.Conn, and Client.Listen gives a net.Listener.
//
// A flow whose QoS asks for in-order delivery (best effort, video, voice,
// data) runs FRCT (package frct) in this library, as the reference does:
// SDUs arrive in order, and with QoS data (no loss) every SDU arrives,
// retransmitted when lost; the window keeps a fast writer from flooding a
// slow reader. Both ends take the allocator's QoS, so both run it. Every
// flow with a peer timeout in its QoS (all but joined ones) sends
// keepalives and ends with ErrFlowPeer when its peer goes silent. A flow
// with QoS ber 0 carries a CRC32 when the client enables it (SetCRC).
// Not yet: encryption (OAP key exchange); the Delta-t quiet time is not
// passed to the node at Close.
//
// Each flow is one SOCK_SEQPACKET socket to the node or, for a flow between
// two applications of one system, straight to the other application. The
// node passes it with SCM_RIGHTS when the flow is allocated.
package dev
