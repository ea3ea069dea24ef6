// Package dir is the DHT directory of the unicast IPCP (spec SYSTEM §8.7):
// a Kademlia variant that maps name hashes to the 8-byte big-endian
// addresses of the IPCPs that registered them.
//
// It is pure logic: no goroutines, no timers, no network I/O. The owner
// (the unicast IPCP) wires it up with
//
//   - a send function, func(dst uint64, msg []byte) error, that carries a
//     packed dht_msg to the DT component (eid 1); in tests it is a packet
//     sink, exactly like the C reference's dht_test;
//   - a clock, so that every expiry is computed from Config.Clock;
//   - Handle, fed with every DHT packet received;
//   - Tick, called every second, which runs the rounds of joining and
//     publication that are due and, every Interval, the periodic tasks
//     (bootstrap retry, value expiry, request expiry, replication, bucket
//     refresh) round-robin as the reference's worker does;
//   - Republish and Reachable, called when the layer as seen from the
//     owner changes: a neighbour lost, destinations newly reachable.
//
// Lookups: Query answers at once from the local store. Otherwise it
// starts (or continues) a FIND_VALUE lookup and returns ErrPending; the
// first value obtained is delivered to Config.OnResult and kept in the
// lookup for DHT_T_CACHE (60 s), so a caller may instead poll Query until
// it returns an address. Without contacts Query sends nothing and returns
// ErrNotFound (the reference returns INVALID_ADDR).
//
// Deviations from the reference, all local (no effect on the wire):
// contact lists are sorted closest-first by XOR distance, which the
// reference intends but does not do; and a non-full bucket's list is
// filled from every contact under its parent (descendants included).
//
// Deviations in when and to whom messages go (their format and meaning
// are the reference's): a registered name is published (pub.go) with
// STOREs to the k closest contacts, not alpha, each followed by a
// FIND_VALUE_REQ whose answer shows the STORE held, in rounds with
// backoff until all k hold it, and again when a new contact enters the k
// closest or the owner reports a lost neighbour (Republish); a value held
// for another node is handed to a new contact closer to its key by the
// holder closest to it; the join lookup's request is sent again, in
// rounds with backoff, to the contacts that have not answered it, and the
// lookup made afresh when the owner reports more members reachable than
// the table holds contacts (join.go); and rounds waiting for answers run
// at once when the owner reports new destinations reachable (Reachable).
//
// C reference: src/ipcpd/unicast/dir/dht.c, tests/dht_test.c.
//
// Concurrency: a DHT is safe for concurrent use; one mutex guards all
// state. The send function and OnResult are always called without the
// mutex held, so they may call back into the DHT (or into another DHT
// synchronously).
package dir
