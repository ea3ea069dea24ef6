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
// entry with the same id or address is replaced.
func (d *DHT) updateContact(id []byte, addr uint64, now time.Time) {
	if addr == d.cfg.Addr || bytes.Equal(id, d.id) {
		return
	}
	d.dropContact(addr)
	b := d.leaf(id)
	sameID := func(c *contact) bool { return bytes.Equal(c.id, id) }
	for _, c := range slices.Concat(b.contacts, b.alts) {
		if sameID(c) {
			d.dropContact(c.addr)
		}
	}
	for len(b.contacts) >= d.cfg.K {
		if b != d.leaf(d.id) || b.depth >= d.cfg.IDLen {
			if len(b.alts) >= d.cfg.K {
				delete(d.where, b.alts[0].addr)
				b.alts = b.alts[1:]
			}
			b.alts = append(b.alts, newContact(id, addr, now))
			d.where[addr] = b
			return
		}
		d.split(b, now)
		b = d.leaf(id)
	}
	b.contacts = append(b.contacts, newContact(id, addr, now))
	d.where[addr] = b
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
// its parent.
func (d *DHT) contactList(key []byte, max int) []*contact {
	max = min(max, d.cfg.K)
	b := d.leaf(key)
	var cs []*contact
	if len(b.contacts) >= d.cfg.K || b.parent == nil {
		cs = slices.Clone(b.contacts)
	} else {
		walkFrom(b.parent, func(l *bucket) { cs = append(cs, l.contacts...) })
	}
	cs = slices.DeleteFunc(cs, func(c *contact) bool { return c.addr == d.cfg.Addr })
	slices.SortStableFunc(cs, func(x, y *contact) int {
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

// numContacts counts the contacts in the routing table.
func (d *DHT) numContacts() int {
	n := 0
	d.walk(func(b *bucket) { n += len(b.contacts) })
	return n
}
