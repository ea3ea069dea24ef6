package unicast

import (
	"time"

	"github.com/o7s/ouroboros/stack/ipcp/unicast/routing"
)

// Rounds, a local decision of this implementation: nothing new goes on the
// wire, the same LSUs are sent at more moments and their absence is read.
//
// LSUs have no withdrawal: an adjacency its IPCP no longer announces stays
// in the other IPCPs' LSDBs until ls_t_timeo after its last refresh. But an
// IPCP refreshes all its adjacencies together every ls_t_update (the
// reference's lsupdate does the same): a round. This one also sends a
// round whenever it loses an adjacency, and never refreshes some of its
// adjacencies alone (a brand-new adjacency's first LSU is no refresh:
// peers hold nothing of it). So rounds that refresh an IPCP's other
// adjacencies and not one of them say that it is gone.
//
// A peer takes the refreshes of one IPCP's adjacencies that arrive within
// roundWindow of the first for one round, which a stall in the middle of
// a round does not split in two. It drops an adjacency its IPCP left out
// of its last two rounds (skipped), once the second is over, instead of
// waiting for ls_t_timeo; the adjacency's next LSU brings it back. Two, so
// that one round split by a longer stall, or one LSU lost on every path,
// drops nothing.
//
// After losing an adjacency, an IPCP sends two rounds, each at least
// roundSpacing after the round before it so that peers see two rounds, the
// first at once if the last round was long enough ago. The loss is thus
// known everywhere roundSpacing to three times that after it happened. A
// round with nothing in it (the IPCP lost its last adjacency) is seen by
// no one and counts for nothing: the two rounds go out once the IPCP has
// an adjacency again (a node whose only neighbour restarted and came back
// as a new IPCP, restart.go, has one again at once).
// From a reference IPCP, which sends only its periodic rounds, a lost
// adjacency goes after two ls_t_update; reference peers still age ours
// out after ls_t_timeo.

// rounds counts the rounds of another IPCP's updates seen here.
type rounds struct {
	n       uint64    // rounds seen
	start   time.Time // when the last one began
	entries int       // its adjacencies in the LSDB
}

// ourRounds is when ours go out.
type ourRounds struct {
	last time.Time // the last round
	owed int       // rounds owed to a loss
}

// roundWindow: refreshes of one IPCP's adjacencies this close to the first
// of a round are in that round. A quarter of ls_t_update, so that rounds
// stay apart, and at most a second.
func (ls *linkState) roundWindow() time.Duration { return min(ls.tUpdate/4, time.Second) }

// roundSpacing keeps our rounds apart enough for peers to tell them apart.
func (ls *linkState) roundSpacing() time.Duration { return ls.roundWindow() + tickEvery }

// roundsOf returns the rounds of src; ls.mu is held.
func (ls *linkState) roundsOf(src uint64) *rounds {
	r := ls.rounds[src]
	if r == nil {
		r = &rounds{}
		ls.rounds[src] = r
	}
	return r
}

// refreshed notes a refresh at now of an adjacency of the IPCP whose
// rounds are r, and returns the round it came in; ls.mu is held.
func (ls *linkState) refreshed(r *rounds, now time.Time) uint64 {
	if now.Sub(r.start) >= ls.roundWindow() {
		r.n++
		r.start = now
	}
	return r.n
}

// skipped reports whether its IPCP left the adjacency e out of its last
// two rounds, the last of which is over; ls.mu is held.
func (ls *linkState) skipped(e *lsEntry, now time.Time) bool {
	r := e.rounds
	return r.n >= e.round+2 && now.Sub(r.start) >= ls.roundWindow()
}

// forget: e, an adjacency of src, left the LSDB; ls.mu is held.
func (ls *linkState) forget(src uint64, e *lsEntry) {
	if e.rounds.entries--; e.rounds.entries == 0 {
		delete(ls.rounds, src)
	}
}

// lost: one of our adjacencies is gone. Two rounds announce it; ls.mu is
// held.
func (ls *linkState) lost(now time.Time, out *sends) {
	ls.sent.owed = 2
	if now.Sub(ls.sent.last) >= ls.roundSpacing() {
		ls.round(now, [2]uint64{}, out)
	}
}

// roundDue reports whether a round of ours is due at the tick at now: the
// periodic one, or one owed to a loss; ls.mu is held.
func (ls *linkState) roundDue(now time.Time, periodic bool) bool {
	return periodic || ls.sent.owed > 0 && len(ls.dt) > 0 && now.Sub(ls.sent.last) >= ls.roundSpacing()
}

// round refreshes our adjacencies but skip and queues them to every
// management neighbour; ls.mu is held. A round that refreshes nothing is
// seen by no one: it is not one.
func (ls *linkState) round(now time.Time, skip [2]uint64, out *sends) {
	n := 0
	for k, e := range ls.db {
		if k[0] != ls.self() || k == skip {
			continue
		}
		e.seq++
		e.stamp = now
		ls.ownSeq[k[1]] = e.seq
		ls.flood(routing.LSU{Src: k[0], Dst: k[1], SeqNo: e.seq}.Append(nil), nil, out)
		n++
	}
	if n == 0 {
		return
	}
	if ls.sent.owed > 0 && now.Sub(ls.sent.last) >= ls.roundSpacing() {
		ls.sent.owed--
	}
	ls.sent.last = now
}
