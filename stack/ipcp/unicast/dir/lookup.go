package dir

import (
	"bytes"
	"fmt"
	"time"

	"github.com/o7s/ouroboros/stack/ipcp/pb"
	"google.golang.org/protobuf/proto"
)

// maxLookup is how long a lookup that found nothing is continued before it
// starts over.
const maxLookup = 2 * tResp

// peer is a node asked within a lookup.
type peer struct {
	cookie   uint64
	code     Code // FIND_NODE_REQ or FIND_VALUE_REQ
	answered bool
}

// lookup is an outstanding request for a key (the reference's dht_req).
type lookup struct {
	key   []byte
	code  Code             // strongest request sent so far
	peers map[uint64]*peer // by address
	exp   time.Time        // dropped after exp unless done
	start time.Time        // restarted after maxLookup unless done
	vals  [][]byte         // values found, cached until tCache
	done  bool
	tDone time.Time
}

func newLookup(key []byte, code Code) *lookup {
	return &lookup{key: bytes.Clone(key), code: code, peers: make(map[uint64]*peer)}
}

// lookupFor returns the lookup for key, creating it if needed.
func (d *DHT) lookupFor(key []byte, code Code, now time.Time) *lookup {
	l := d.lookups[string(key)]
	if l != nil && l.done && now.After(l.tDone.Add(tCache)) {
		l = nil
	}
	// A lookup polled again and again (Query) would be kept alive for ever
	// and never ask a peer twice, so a lost answer, or a value stored after
	// the peer was asked, would never be found: an old unanswered lookup
	// starts over. (Local behaviour: the messages are the same.)
	if l != nil && !l.done && now.Sub(l.start) > maxLookup {
		l = nil
	}
	if l == nil {
		l = newLookup(key, code)
		l.exp = now.Add(tResp)
		l.start = now
		d.lookups[string(key)] = l
	}
	if code == CodeFindValueReq {
		l.code = code
	}
	return l
}

// lookupValue runs Query's remote part. Called with mu held.
func (d *DHT) lookupValue(key []byte, now time.Time) (uint64, error) {
	if l := d.lookups[string(key)]; l != nil && l.done && !now.After(l.tDone.Add(tCache)) {
		if a := d.answer(l.vals); a != 0 {
			return a, nil
		}
		return 0, ErrNotFound
	}
	cs := d.contactList(key, d.cfg.K)
	if len(cs) == 0 {
		return 0, ErrNotFound
	}
	if d.lookups[string(key)] == nil && len(d.lookups) >= maxReqs {
		return 0, ErrTooManyReqs
	}
	l := d.lookupFor(key, CodeFindValueReq, now)
	d.ask(l, CodeFindValueReq, cs[:min(len(cs), d.cfg.Alpha)], now)
	return 0, ErrPending
}

// ask sends a code request of l to the contacts not yet asked (or asked
// only for nodes when code asks for the value).
func (d *DHT) ask(l *lookup, code Code, cs []*contact, now time.Time) {
	for _, c := range cs {
		if c.addr == d.cfg.Addr {
			continue
		}
		if p := l.peers[c.addr]; p != nil && (p.code == code || code == CodeFindNodeReq) {
			continue
		}
		p := &peer{cookie: d.cookie(), code: code}
		l.peers[c.addr] = p
		d.queue(c.addr, d.findReqMsg(code, l.key, p.cookie))
	}
	l.exp = now.Add(tResp)
}

// Handle processes a packed dht_msg received from layer address src.
func (d *DHT) Handle(src uint64, b []byte) error {
	var m pb.DhtMsg
	if err := proto.Unmarshal(b, &m); err != nil {
		d.mu.Lock()
		d.stats.Invalid++
		d.mu.Unlock()
		return fmt.Errorf("%w: %v", ErrInvalidMsg, err)
	}
	d.mu.Lock()
	d.stats.Received++
	if err := d.validate(&m); err != nil {
		d.stats.Invalid++
		d.mu.Unlock()
		return err
	}
	now := d.cfg.Clock()
	err := d.handle(&m, now)
	if err != nil {
		d.stats.Invalid++
	}
	if serr := d.unlock(); err == nil {
		err = serr
	}
	return err
}

// handle dispatches a validated message. Called with mu held.
func (d *DHT) handle(m *pb.DhtMsg, now time.Time) error {
	s := m.GetSrc()
	switch code := Code(m.GetCode()); code {
	case CodeStore:
		d.updateContact(s.GetId(), s.GetAddr(), now)
		st := m.GetStore()
		d.store(st.GetKey(), st.GetVal(), time.Unix(int64(st.GetExp()), 0), now)
	case CodeFindNodeReq, CodeFindValueReq:
		d.updateContact(s.GetId(), s.GetAddr(), now)
		f := m.GetFind()
		cs := d.contactList(f.GetKey(), d.cfg.K)
		if code == CodeFindNodeReq {
			d.queue(s.GetAddr(), d.findNodeRspMsg(f.GetKey(), f.GetCookie(), cs))
		} else {
			vals := d.retrieve(f.GetKey(), now)
			d.queue(s.GetAddr(), d.findValueRspMsg(f.GetKey(), f.GetCookie(), cs, vals))
		}
	case CodeFindNodeRsp, CodeFindValueRsp:
		n := m.GetNode()
		l := d.lookups[string(n.GetKey())]
		switch {
		case l != nil && d.cookieOK(l, s.GetAddr(), n.GetCookie()):
			if p := l.peers[s.GetAddr()]; p != nil {
				p.answered = true
			}
			d.updateContact(s.GetId(), s.GetAddr(), now)
			d.response(l, code, m, now)
		case d.pubAnswer(n.GetKey(), s.GetAddr(), n.GetCookie(), code, m.GetVal().GetValues()):
			d.updateContact(s.GetId(), s.GetAddr(), now)
			d.addContacts(n.GetContacts(), now)
			d.pubCheck(n.GetKey())
		default:
			return fmt.Errorf("%w: unexpected response", ErrInvalidMsg)
		}
	}
	return nil
}

func (d *DHT) cookieOK(l *lookup, src, cookie uint64) bool {
	if cookie == d.magic {
		return true
	}
	p := l.peers[src]
	return p != nil && p.cookie == cookie
}

// response folds a FIND_*_RSP into its lookup and asks the next round.
func (d *DHT) response(l *lookup, code Code, m *pb.DhtMsg, now time.Time) {
	cs := d.addContacts(m.GetNode().GetContacts(), now)
	if code == CodeFindValueRsp {
		if vals := m.GetVal().GetValues(); len(vals) > 0 {
			d.found(l, vals, now)
			return
		}
		if !l.done {
			d.ask(l, CodeFindValueReq, cs, now)
		}
		return
	}
	d.ask(l, CodeFindNodeReq, cs, now)
}

// addContacts adds the contacts of a response to the routing table and
// returns them, the own node and nodes that are gone left out.
func (d *DHT) addContacts(ms []*pb.DhtContactMsg, now time.Time) []*contact {
	var cs []*contact
	for _, c := range ms {
		if c.GetAddr() == d.cfg.Addr || bytes.Equal(c.GetId(), d.id) || d.gone.has(c.GetAddr()) {
			continue
		}
		d.updateContact(c.GetId(), c.GetAddr(), now)
		cs = append(cs, &contact{id: c.GetId(), addr: c.GetAddr()})
	}
	return cs
}

// found caches vals in l and queues the result for OnResult.
func (d *DHT) found(l *lookup, vals [][]byte, now time.Time) {
	first := !l.done
	l.vals = append(l.vals, vals...)
	if len(l.vals) > maxVals {
		l.vals = l.vals[:maxVals]
	}
	if first {
		l.done, l.tDone = true, now
		d.results = append(d.results, result{key: l.key, addr: d.answer(l.vals)})
	}
}
