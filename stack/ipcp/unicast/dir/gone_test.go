package dir

import (
	"testing"
	"time"
)

// TestForget: a node that is gone leaves the routing table, the values
// that give its address and the finished lookups that found it; it is
// not taken back as a contact or a value, and a query is not answered
// with it; the others stay.
func TestForget(t *testing.T) {
	f := newFixture(t, nil)
	now := f.clock.now
	gone, kept := f.addr(), f.addr()
	f.d.mu.Lock()
	f.d.updateContact(f.id(), gone, now)
	f.d.updateContact(f.id(), kept, now)
	key, found := f.id(), f.id()
	f.d.store(key, addrToVal(gone), now.Add(2*time.Hour), now) // the newer: the answer
	f.d.store(key, addrToVal(kept), now.Add(time.Hour), now)
	l := f.d.lookupFor(found, CodeFindValueReq, now)
	f.d.found(l, [][]byte{addrToVal(gone)}, now)
	f.d.mu.Unlock()
	if a, err := f.d.Query(key); err != nil || a != gone {
		t.Fatalf("Query before = %x, %v; want the newer value, %x", a, err, gone)
	}

	f.d.Forget(gone)
	if f.d.Knows(gone) || !f.d.Knows(kept) {
		t.Errorf("contacts: gone known %v, kept known %v; want false, true", f.d.Knows(gone), f.d.Knows(kept))
	}
	if a, err := f.d.Query(key); err != nil || a != kept {
		t.Errorf("Query after = %x, %v; want the other value, %x", a, err, kept)
	}
	f.d.mu.Lock()
	defer f.d.mu.Unlock()
	if f.d.lookups[string(found)] != nil {
		t.Error("the lookup that found the gone address is still cached")
	}
	f.d.updateContact(f.id(), gone, now)
	if f.d.contactAt(gone) != nil {
		t.Error("the gone node was taken back as a contact")
	}
	if f.d.store(key, addrToVal(gone), now.Add(time.Hour), now) {
		t.Error("the gone address was stored again as a value")
	}
	if a := f.d.answer([][]byte{addrToVal(gone), addrToVal(kept)}); a != kept {
		t.Errorf("answer = %x, want %x, past the gone address", a, kept)
	}
}

// TestReachFirst: contacts the layer has a route to come before closer
// ones it has none to, and a value with a route is the answer before an
// earlier one without; with no value routed, the first is.
func TestReachFirst(t *testing.T) {
	var routed map[uint64]bool
	f := newFixture(t, func(c *Config) { c.Reach = func(a uint64) bool { return routed[a] } })
	now := f.clock.now
	key := f.id()
	near, far := make([]byte, testIDLen), make([]byte, testIDLen)
	copy(near, key)
	near[testIDLen-1] ^= 1 // as close to the key as can be
	copy(far, key)
	far[0] ^= 0x80 // as far as can be
	const nearAddr, farAddr = 0x0a, 0x0b
	routed = map[uint64]bool{farAddr: true}
	f.d.mu.Lock()
	defer f.d.mu.Unlock()
	f.d.updateContact(near, nearAddr, now)
	f.d.updateContact(far, farAddr, now)
	if cs := f.d.contactList(key, 2); len(cs) != 2 || cs[0].addr != farAddr {
		t.Errorf("contact list %v, want the routed far contact first", cs)
	}
	routed[nearAddr] = true
	if cs := f.d.contactList(key, 2); len(cs) != 2 || cs[0].addr != nearAddr {
		t.Errorf("contact list %v, want the near contact first once both are routed", cs)
	}
	routed = map[uint64]bool{farAddr: true}
	if a := f.d.answer([][]byte{addrToVal(nearAddr), addrToVal(farAddr)}); a != farAddr {
		t.Errorf("answer = %x, want the routed %x", a, farAddr)
	}
	routed = nil
	if a := f.d.answer([][]byte{addrToVal(nearAddr), addrToVal(farAddr)}); a != nearAddr {
		t.Errorf("answer = %x with no route, want the first, %x", a, nearAddr)
	}
}
