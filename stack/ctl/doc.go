// Package ctl is the local control channel between onode and the programs of
// its system: the dev library and the irm tool.
//
// Transport: a unix SOCK_SEQPACKET socket (net "unixpacket"). One message is
// one datagram holding one protobuf Msg (ctl.proto), at most MaxMsg bytes. A
// reply may carry one file descriptor (the application end of a flow) with
// SCM_RIGHTS.
//
// Two kinds of connections:
//
//   - a session: a process connects, sends PROC_ANNOUNCE and keeps the
//     connection open for its lifetime. The node learns the pid and uid from
//     the socket's peer credentials, and reaps the process (flows, bindings,
//     pending requests) the moment the session closes;
//   - a request: connect, send one request, read one reply, close (as the
//     reference does). Closing a request connection early cancels the
//     request, so a blocking Accept or Alloc is cancelled by closing it.
//
// Errors cross the channel as a negative result code plus a detail text
// (Reply and FromReply, over the code table of package errs).
package ctl

//go:generate protoc --go_out=. --go_opt=paths=source_relative ctl.proto
