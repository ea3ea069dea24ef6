package dir

import (
	"bytes"
	"slices"
	"time"
)

// maxVals is DHT_MAX_VALS: values returned per key.
const maxVals = 8

// val is one value stored under a key.
type val struct {
	v     []byte
	exp   time.Time // absolute expiry
	tRepl time.Time // last replicated (STOREd to peers)
}

// entry holds the values of one key: non-local ones learned by STORE and
// local ones registered here.
type entry struct {
	key   []byte
	vals  []*val
	lvals []*val
}

func newEntry(key []byte) *entry { return &entry{key: bytes.Clone(key)} }

func findVal(vs []*val, v []byte) *val {
	for _, x := range vs {
		if bytes.Equal(x.v, v) {
			return x
		}
	}
	return nil
}

// getVal returns the non-local value v, or nil.
func (e *entry) getVal(v []byte) *val { return findVal(e.vals, v) }

// getLval returns the local value v, or nil.
func (e *entry) getLval(v []byte) *val { return findVal(e.lvals, v) }

// updateVal stores non-local v until exp; a later expiry extends an
// existing value. It reports false if exp has passed.
func (e *entry) updateVal(v []byte, exp, now time.Time) bool {
	if !exp.After(now) {
		return false
	}
	if x := e.getVal(v); x != nil {
		if exp.After(x.exp) {
			x.exp = exp
		}
		return true
	}
	e.vals = append(e.vals, &val{v: bytes.Clone(v), exp: exp, tRepl: now})
	return true
}

// updateLval stores local v until exp.
func (e *entry) updateLval(v []byte, exp, now time.Time) bool {
	if !exp.After(now) {
		return false
	}
	if x := e.getLval(v); x != nil {
		if exp.After(x.exp) {
			x.exp = exp
		}
		return true
	}
	e.lvals = append(e.lvals, &val{v: bytes.Clone(v), exp: exp, tRepl: now})
	return true
}

func (e *entry) delLval(v []byte) {
	e.lvals = slices.DeleteFunc(e.lvals, func(x *val) bool { return bytes.Equal(x.v, v) })
}

// expire drops expired values and reports whether e is now empty.
func (e *entry) expire(now time.Time) bool {
	old := func(x *val) bool { return !x.exp.After(now) }
	e.vals = slices.DeleteFunc(e.vals, old)
	e.lvals = slices.DeleteFunc(e.lvals, old)
	return len(e.vals) == 0 && len(e.lvals) == 0
}

// store saves non-local v under key until exp (refused if expired,
// already a local value, or the address of a node that is gone).
func (d *DHT) store(key, v []byte, exp, now time.Time) bool {
	e := d.entries[string(key)]
	if e == nil {
		e = newEntry(key)
	}
	if d.goneVal(v) || e.getLval(v) != nil || !e.updateVal(v, exp, now) {
		return false
	}
	d.entries[string(key)] = e
	return true
}

// retrieve returns up to maxVals live values under key, the one that
// expires last first (of two that expire together, the one stored last).
// A registering node extends its value's expiry, and one that is gone
// extends nothing, so the first value is the latest registration: when
// a node restarts and registers its names again under its new address,
// that address comes before the old one (which Query would otherwise
// answer with, here and at the nodes that ask for the value), and old
// values do not crowd it out of the eight. The reference keeps the order
// in which the values were stored; the messages are the same.
func (d *DHT) retrieve(key []byte, now time.Time) [][]byte {
	e := d.entries[string(key)]
	if e == nil {
		return nil
	}
	var live []*val
	for _, x := range slices.Concat(e.vals, e.lvals) {
		if x.exp.After(now) {
			live = append(live, x)
		}
	}
	slices.Reverse(live)
	slices.SortStableFunc(live, func(a, b *val) int { return b.exp.Compare(a.exp) })
	var out [][]byte
	for _, x := range live[:min(len(live), maxVals)] {
		out = append(out, bytes.Clone(x.v))
	}
	return out
}
