package dir

import (
	"bytes"
	"encoding/binary"
	"slices"
	"time"
)

// fanout follows DHT_BETA (8 bits per tree level): 256 children per split.
const fanout = 256

// contact is a known DHT node.
type contact struct {
	id    []byte
	addr  uint64
	tSeen time.Time
}

func newContact(id []byte, addr uint64, now time.Time) *contact {
	return &contact{id: bytes.Clone(id), addr: addr, tSeen: now}
}

// bucket is a node of the routing tree. A leaf holds ≤ k contacts and
// ≤ k alternates; an inner bucket holds only its 256 children.
type bucket struct {
	depth    int // number of id bytes fixed by the prefix
	parent   *bucket
	children []*bucket
	contacts []*contact
	alts     []*contact
	tRefresh time.Time
}

// distance is the XOR of the first 8 bytes of a and b, big endian.
func distance(a, b []byte) uint64 {
	var x, y [8]byte
	copy(x[:], a)
	copy(y[:], b)
	return binary.BigEndian.Uint64(x[:]) ^ binary.BigEndian.Uint64(y[:])
}

// leaf returns the leaf bucket whose prefix covers id.
func (d *DHT) leaf(id []byte) *bucket {
	b := d.root
	for b.children != nil {
		b = b.children[id[b.depth]]
	}
	return b
}

// updateContact adds or refreshes the contact (id, addr). An existing
// entry with the same id or address is replaced; a node that is gone is
// not taken (gone.go). A contact new to the
// table is sent what it should hold (contactAdded).
func (d *DHT) updateContact(id []byte, addr uint64, now time.Time) {
	if addr == d.cfg.Addr || bytes.Equal(id, d.id) || d.gone.has(addr) {
		return
	}
	old := d.contactAt(addr)
	c := d.insertContact(id, addr, now)
	if old == nil || !bytes.Equal(old.id, id) {
		d.contactAdded(c, now)
	}
}

// insertContact puts a new contact (id, addr) in its bucket, or among
// the bucket's alternates if it is full, and returns it.
func (d *DHT) insertContact(id []byte, addr uint64, now time.Time) *contact {
	d.dropContact(addr)
	b := d.leaf(id)
	sameID := func(c *contact) bool { return bytes.Equal(c.id, id) }
	for _, c := range slices.Concat(b.contacts, b.alts) {
		if sameID(c) {
			d.dropContact(c.addr)
		}
	}
	c := newContact(id, addr, now)
	for len(b.contacts) >= d.cfg.K {
		if b != d.leaf(d.id) || b.depth >= d.cfg.IDLen {
			if len(b.alts) >= d.cfg.K {
				delete(d.where, b.alts[0].addr)
				b.alts = b.alts[1:]
			}
			b.alts = append(b.alts, c)
			d.where[addr] = b
			return c
		}
		d.split(b, now)
		b = d.leaf(id)
	}
	b.contacts = append(b.contacts, c)
	d.where[addr] = b
	return c
}

// contactAt returns the contact or alternate with address addr, or nil.
func (d *DHT) contactAt(addr uint64) *contact {
	b := d.where[addr]
	if b == nil {
		return nil
	}
	for _, cs := range [2][]*contact{b.contacts, b.alts} {
		for _, c := range cs {
			if c.addr == addr {
				return c
			}
		}
	}
	return nil
}

// dropContact removes any contact or alternate with address addr.
func (d *DHT) dropContact(addr uint64) {
	b, ok := d.where[addr]
	if !ok {
		return
	}
	same := func(c *contact) bool { return c.addr == addr }
	b.contacts = slices.DeleteFunc(b.contacts, same)
	b.alts = slices.DeleteFunc(b.alts, same)
	delete(d.where, addr)
}

// split turns leaf b into 256 children keyed by the next id byte.
func (d *DHT) split(b *bucket, now time.Time) {
	b.children = make([]*bucket, fanout)
	for i := range b.children {
		b.children[i] = &bucket{depth: b.depth + 1, parent: b, tRefresh: now.Add(d.cfg.TRefresh)}
	}
	for _, c := range b.contacts {
		ch := b.children[c.id[b.depth]]
		ch.contacts = append(ch.contacts, c)
		d.where[c.addr] = ch
	}
	for _, c := range b.alts {
		ch := b.children[c.id[b.depth]]
		if len(ch.contacts) < d.cfg.K {
			ch.contacts = append(ch.contacts, c)
			d.where[c.addr] = ch
		} else {
			delete(d.where, c.addr)
		}
	}
	b.contacts, b.alts = nil, nil
}

// walk calls f on every leaf bucket, depth first.
func (d *DHT) walk(f func(*bucket)) { walkFrom(d.root, f) }

func walkFrom(b *bucket, f func(*bucket)) {
	if b.children == nil {
		f(b)
		return
	}
	for _, c := range b.children {
		walkFrom(c, f)
	}
}

// contactList returns up to min(max, k) contacts for key, closest first:
// the key's bucket if it is full or the root, else every contact under
// its parent. Those the layer has a route to come before those it has
// none to (gone.go).
func (d *DHT) contactList(key []byte, max int) []*contact {
	max = min(max, d.cfg.K)
	var cs []*contact
	d.candidates(key, func(c *contact) { cs = append(cs, c) })
	reach := make(map[*contact]bool, len(cs))
	for _, c := range cs {
		reach[c] = d.reach(c.addr)
	}
	slices.SortStableFunc(cs, func(x, y *contact) int {
		if reach[x] != reach[y] {
			if reach[x] {
				return -1
			}
			return 1
		}
		dx, dy := distance(x.id, key), distance(y.id, key)
		switch {
		case dx < dy:
			return -1
		case dx > dy:
			return 1
		}
		return 0
	})
	if len(cs) > max {
		cs = cs[:max]
	}
	return cs
}

// candidates calls f, in bucket order, on each contact contactList
// chooses from for key.
func (d *DHT) candidates(key []byte, f func(*contact)) {
	each := func(b *bucket) {
		for _, c := range b.contacts {
			if c.addr != d.cfg.Addr {
				f(c)
			}
		}
	}
	b := d.leaf(key)
	if len(b.contacts) >= d.cfg.K || b.parent == nil {
		each(b)
		return
	}
	walkFrom(b.parent, each)
}

// near reports whether the contact at addr is in contactList(key, k),
// without building it: fewer than k candidates come before it.
func (d *DHT) near(key []byte, addr uint64) bool {
	x := d.contactAt(addr)
	if x == nil {
		return false
	}
	dx := distance(x.id, key)
	in, before := false, 0
	d.candidates(key, func(c *contact) {
		switch dist := distance(c.id, key); {
		case c == x:
			in = true
		case dist < dx, dist == dx && !in:
			before++
		}
	})
	return in && before < d.cfg.K
}

// numContacts counts the contacts in the routing table.
func (d *DHT) numContacts() int {
	n := 0
	d.walk(func(b *bucket) { n += len(b.contacts) })
	return n
}
