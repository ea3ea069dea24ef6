package dir

import (
	"bytes"
	"time"
)

// Publishing a registered name.
//
// The reference sends one STORE of a registered name to the alpha closest
// contacts the registering node knows at that moment, and stores it again
// only when the value nears expiry. A name registered before the DHT has
// settled (routes still forming, a table that holds only the enroller's
// neighbourhood) is then held by nodes that lookups do not reach, for
// hours. Here a registered name is published until it is where lookups
// end, with the reference's messages only:
//
//   - A round sends, to each of the k closest contacts that has not shown
//     that it holds the value, a STORE {key, own address, exp} followed by
//     a FIND_VALUE_REQ for the key with a fresh cookie (a probe).
//   - The protocol has no STORE acknowledgement, so a probe's answer is
//     one: a FIND_VALUE_RSP that lists the own address shows that its
//     sender holds the value.
//   - A probe's answer also lists the sender's k closest contacts to the
//     key. They enter the routing table, and each that enters the k
//     closest is sent a STORE and a probe at once: the rounds are an
//     iterative lookup of the nodes closest to the key, storing as they go.
//   - Publication is complete as soon as every one of the k closest
//     contacts has answered a probe with the value: a lookup from any node
//     then ends at nodes that hold it. Until then rounds repeat after 1 s,
//     2 s, 4 s ..., the wait doubling up to min(60 s, t_replicate); the
//     round that follows a wait of that cap is the last (rounds at 0, 1, 3,
//     7, 15, 31, 63 and 123 s), since a contact that has not answered by
//     then is likely gone (the reference never drops a contact) and the
//     others hold the value.
//   - Publication starts again (the wait back at 1 s) when the layer's
//     membership changes as seen here: a new contact that enters the k
//     closest is sent a STORE and a probe at once, and the owner calls
//     Republish when a neighbour is lost or comes back, which forgets the
//     answers and sends to all k again. When new destinations become
//     reachable, the owner calls Reachable: a publication still waiting
//     for answers has its next round at once, its wait back at 1 s.
//
// Values stored here for others follow the Kademlia rule for joining
// nodes: a new contact that enters the k closest for such a key is sent a
// STORE of it with its expiry, once, if this node is closer to the key
// than its other contacts (so that one holder sends it, not all k).
const (
	pubFirst = time.Second      // wait after the first round
	pubCap   = 60 * time.Second // the longest wait, if t_replicate is longer
)

// holder is a contact sent a publication's value.
type holder struct {
	cookie uint64 // of the probe sent with the STORE
	held   bool   // it answered the probe with the value
}

// pub is the publication of the local value of a key.
type pub struct {
	key   []byte
	peers map[uint64]*holder // by address
	wait  time.Duration      // to wait after the next round
	next  time.Time          // next round; zero once complete or given up
	final bool               // the next round is the last
}

// PubStats are the counters of publication.
type PubStats struct {
	Rounds   uint64 // rounds sent (the first and the timed ones)
	Probes   uint64 // STORE and FIND_VALUE_REQ pairs sent
	Held     uint64 // probes answered with the value
	Complete uint64 // publications every one of the k closest holds
	GaveUp   uint64 // publications whose last round found some without it
}

func (d *DHT) pubCap() time.Duration { return min(pubCap, d.cfg.TReplicate) }

// publish starts (or restarts) the publication of the local value of key
// and sends its first round. Called with mu held.
func (d *DHT) publish(key []byte, now time.Time) {
	p := d.pubs[string(key)]
	if p == nil {
		p = &pub{key: bytes.Clone(key)}
		d.pubs[string(key)] = p
	}
	p.peers = make(map[uint64]*holder)
	p.wait, p.final = pubFirst, false
	d.pubRound(p, now)
}

// lval returns the own local value of key, or nil.
func (d *DHT) lval(key []byte) *val {
	e := d.entries[string(key)]
	if e == nil {
		return nil
	}
	return e.getLval(addrToVal(d.cfg.Addr))
}

// pubRound sends STORE and a probe to each of the k closest contacts not
// known to hold the value, and schedules the next round.
func (d *DHT) pubRound(p *pub, now time.Time) {
	v := d.lval(p.key)
	if v == nil {
		delete(d.pubs, string(p.key))
		return
	}
	d.stats.Pub.Rounds++
	cs := d.contactList(p.key, d.cfg.K)
	peers := make(map[uint64]*holder, len(cs))
	for _, c := range cs {
		if h := p.peers[c.addr]; h != nil && h.held {
			peers[c.addr] = h
		}
	}
	p.peers = peers // contacts no longer among the k closest are forgotten
	missing := 0
	for _, c := range cs {
		if p.peers[c.addr] == nil {
			d.pubSend(p, c, v)
			missing++
		}
	}
	switch {
	case len(cs) == 0:
		p.next = time.Time{} // a first contact restarts it
	case missing == 0:
		d.pubDone(p)
	case p.final:
		p.next = time.Time{}
		d.stats.Pub.GaveUp++
	default:
		p.next = now.Add(p.wait)
		p.final = p.wait >= d.pubCap()
		p.wait = min(2*p.wait, d.pubCap())
	}
}

// pubSend sends v's STORE and a probe to c.
func (d *DHT) pubSend(p *pub, c *contact, v *val) {
	h := &holder{cookie: d.cookie()}
	p.peers[c.addr] = h
	d.stats.Pub.Probes++
	d.queue(c.addr, d.storeMsg(p.key, v.v, uint32(v.exp.Unix())))
	d.queue(c.addr, d.findReqMsg(CodeFindValueReq, p.key, h.cookie))
}

func (d *DHT) pubDone(p *pub) {
	if !p.next.IsZero() {
		d.stats.Pub.Complete++
	}
	p.next = time.Time{}
}

// pubTick runs the rounds due at now.
func (d *DHT) pubTick(now time.Time) {
	for _, p := range d.pubs {
		if !p.next.IsZero() && !now.Before(p.next) {
			d.pubRound(p, now)
		}
	}
}

// pubAnswer reports whether a response to key from src with cookie
// answers a probe of a publication, and if so takes it: a FIND_VALUE_RSP
// listing the own address marks src as holding the value. The caller adds
// the response's contacts.
func (d *DHT) pubAnswer(key []byte, src, cookie uint64, code Code, vals [][]byte) bool {
	p := d.pubs[string(key)]
	if p == nil {
		return false
	}
	h := p.peers[src]
	if h == nil || h.cookie != cookie {
		return false
	}
	if h.held || code != CodeFindValueRsp {
		return true
	}
	own := addrToVal(d.cfg.Addr)
	for _, v := range vals {
		if bytes.Equal(v, own) {
			h.held = true
			d.stats.Pub.Held++
			break
		}
	}
	return true
}

// pubCheck completes the publication of key if every one of the k
// closest contacts holds the value.
func (d *DHT) pubCheck(key []byte) {
	p := d.pubs[string(key)]
	if p == nil || p.next.IsZero() {
		return
	}
	for _, c := range d.contactList(p.key, d.cfg.K) {
		if h := p.peers[c.addr]; h == nil || !h.held {
			return
		}
	}
	d.pubDone(p)
}

// contactAdded sends what a new contact c should hold: for each key
// published here that c is among the k closest to, STORE and a probe
// (and the publication's rounds restart from a 1 s wait); for each key
// stored here for others, a STORE of each value if this node is the
// closest to the key it knows. Called with mu held.
func (d *DHT) contactAdded(c *contact, now time.Time) {
	for _, p := range d.pubs {
		v := d.lval(p.key)
		if v == nil || !d.near(p.key, c.addr) { // new, or at an address known by another id
			continue
		}
		d.pubSend(p, c, v)
		p.wait, p.final = pubFirst, false
		p.next = now.Add(p.wait)
	}
	for _, e := range d.entries {
		if len(e.vals) == 0 || !d.near(e.key, c.addr) || !d.closestBut(e.key, c) {
			continue
		}
		for _, v := range e.vals {
			if v.exp.After(now) {
				d.queue(c.addr, d.storeMsg(e.key, v.v, uint32(v.exp.Unix())))
			}
		}
	}
}

// closestBut reports whether this node is closer to key than every
// contact but c, so that of the nodes holding a value only the one closest
// to its key hands it to a newcomer (as in Kademlia), not all k.
func (d *DHT) closestBut(key []byte, c *contact) bool {
	own := distance(d.id, key)
	closer := false
	d.candidates(key, func(x *contact) {
		if x != c && distance(x.id, key) < own {
			closer = true
		}
	})
	return !closer
}

// Republish restarts the publication of every name registered here: the
// answers are forgotten, and every one of the k closest contacts is sent
// a STORE and a probe at the next Tick. The owner calls it when the
// layer's membership changes as seen here (a neighbour lost or back).
func (d *DHT) Republish() {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.cfg.Clock()
	for _, p := range d.pubs {
		p.peers = make(map[uint64]*holder)
		p.wait, p.final = pubFirst, false
		p.next = now
	}
}
