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
// a net.Conn, and Client.Listen gives a net.Listener. Flows with in-order or
// reliable QoS need FRCT, which this version does not have: Alloc refuses
// them with ErrQoS rather than silently degrading them.
//
// Each flow is one SOCK_SEQPACKET socket to the node or, for a flow between
// two applications of one system, straight to the other application. The
// node passes it with SCM_RIGHTS when the flow is allocated.
package dev
