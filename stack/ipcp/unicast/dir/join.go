package dir

import "time"

// Joining.
//
// The reference joins with a FIND_NODE_REQ for the own id to the
// enroller, then asks the contacts of each answer in turn, once. While a
// layer forms, that lookup learns little: routes to those contacts (or
// back from them) often do not exist yet, so requests are not sent or
// their answers are lost; and the enroller may itself know few nodes yet.
// Nothing asks again before a bucket is refreshed (t_refresh, 15 min).
// Such a node knows little more than its enroller, hardly anyone knows
// it, and its lookups stay among a few nodes that know as little (in a
// 100-node layer formed at once, some nodes had one contact and a send
// error for every request they had made).
//
// So the join lookup goes on, with the reference's FIND_NODE_REQ. Once
// Bootstrap has been called and the table has a contact, rounds after
// waits of 1, 2, 4 ... s (capped as publication's are, the round after a
// wait of the cap being the last) send the request again, with its
// cookie, to each contact asked that has not answered, and to the alpha
// contacts closest to the own id not asked yet. Joining is complete at the
// first round with nothing to send: every contact asked has answered,
// which costs nothing more where the routes were there. It starts again,
// with a fresh lookup, when the owner reports (Reachable) more members
// reachable than the table holds contacts, up to k: the neighbourhood may
// have known nothing yet when it was asked.

// joining is the state of the join lookup's rounds.
type joining struct {
	wait  time.Duration // to wait after the next round
	next  time.Time     // next round; zero before Bootstrap and once done
	final bool          // the next round is the last
	done  bool
	fresh bool // the next round starts the lookup afresh
}

// joinStart schedules the first round, unless joining has started.
// Called with mu held.
func (d *DHT) joinStart(now time.Time) {
	if d.join.done || !d.join.next.IsZero() {
		return
	}
	d.join.wait = pubFirst
	d.join.next = now.Add(d.join.wait)
}

// joinTick runs the join round due at now.
func (d *DHT) joinTick(now time.Time) {
	j := &d.join
	if j.next.IsZero() || now.Before(j.next) {
		return
	}
	if d.numContacts() == 0 { // no answer from the enroller yet: the owner retries Bootstrap
		j.next = now.Add(pubFirst)
		return
	}
	d.stats.JoinRounds++
	l := d.lookups[string(d.id)]
	if j.fresh || l == nil {
		j.fresh = false
		delete(d.lookups, string(d.id))
		l = d.lookupFor(d.id, CodeFindNodeReq, now)
	}
	sent := 0
	for addr, p := range l.peers {
		if !p.answered {
			d.queue(addr, d.findReqMsg(p.code, d.id, p.cookie))
			sent++
		}
	}
	n := len(l.peers)
	cs := d.contactList(d.id, d.cfg.K)
	d.ask(l, CodeFindNodeReq, cs[:min(len(cs), d.cfg.Alpha)], now)
	sent += len(l.peers) - n
	switch {
	case sent == 0, j.final:
		j.next, j.done = time.Time{}, true
	default:
		j.next = now.Add(j.wait)
		j.final = j.wait >= d.pubCap()
		j.wait = min(2*j.wait, d.pubCap())
	}
}

// Reachable tells the DHT that n other members of the layer are
// reachable; the owner calls it when a destination becomes reachable.
// Rounds of publication that still wait for answers run at the next Tick,
// their waits back at 1 s: what could not be sent (no route yet) or
// answered may go through now. Joining starts again, with a fresh lookup
// at the next Tick, if the table holds fewer than min(n, k) contacts: this
// node knows less of the layer than it can reach.
func (d *DHT) Reachable(n int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.cfg.Clock()
	if j := &d.join; d.numContacts() < min(n, d.cfg.K) {
		j.next, j.wait, j.final, j.done, j.fresh = now, pubFirst, false, false, true
	}
	for _, p := range d.pubs {
		if !p.next.IsZero() {
			p.next, p.wait, p.final = now, pubFirst, false
		}
	}
}
