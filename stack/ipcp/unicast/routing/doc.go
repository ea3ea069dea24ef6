// Package routing is the link-state routing logic of the unicast IPCP
// (spec SYSTEM §8.8): the LSU message codec and the graph from which the
// routing tables are computed for the three policies (Simple, LFA, ECMP).
//
// It is pure logic: no goroutines, no I/O, no logging. The link-state
// component that owns the LSDB, floods LSUs and runs the timers feeds
// adjacencies into a Graph and turns the Routes it computes into
// forwarding entries (package pff).
//
// C reference: src/ipcpd/unicast/routing/graph.c and link-state.c.
//
// Concurrency: a Graph is not safe for concurrent use; its owner (the
// link-state component) serialises AddEdge, DelEdge and Table. The Routes
// returned by Table do not alias the Graph.
package routing
