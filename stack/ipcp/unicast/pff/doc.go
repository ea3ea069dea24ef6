// Package pff is the PDU forwarding function's table of the unicast IPCP
// (spec SYSTEM §8.9): for every destination address, the N-1 flows
// (flow descriptors) a packet towards it may leave on, under one of three
// policies:
//
//   - Simple: one next hop (routing policy link_state).
//   - Alternate: a primary and its loop-free alternates (routing policy
//     lfa); a lookup returns the primary unless it is marked down, and then
//     the first alternate that is not.
//   - Multipath: equal-cost next hops (routing policy ecmp); a lookup picks
//     one by a caller-supplied hash (e.g. of the flow), skipping hops
//     marked down.
//
// C reference: src/ipcpd/unicast/pff.c and pff/{simple,alternate,multipath}.c.
//
// Concurrency: a Table is safe for concurrent use. Lookups are lock-free
// and do not allocate: they read an immutable snapshot through an atomic
// pointer. Writers (Replace, Set, Delete, SetFlowState) are serialised by
// a mutex; each builds a new snapshot and swaps it in, so a lookup sees
// either the old or the new table, never a mix.
package pff
