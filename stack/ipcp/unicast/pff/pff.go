package pff

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
)

// Policy is the forwarding policy (enum pol_pff).
type Policy uint8

const (
	Simple    Policy = 0
	Alternate Policy = 1
	Multipath Policy = 2
)

func (p Policy) String() string {
	switch p {
	case Simple:
		return "simple"
	case Alternate:
		return "alternate"
	case Multipath:
		return "multipath"
	}
	return "policy(" + strconv.Itoa(int(p)) + ")"
}

// Errors of the table.
var (
	ErrPolicy    = errors.New("pff: unknown forwarding policy")
	ErrNoNextHop = errors.New("pff: entry without a next hop")
	ErrDuplicate = errors.New("pff: destination listed twice")
	ErrNoEntry   = errors.New("pff: no entry for the destination")
)

// Entry is the forwarding entry of one destination: its next-hop flow
// descriptors in order of preference. For Alternate the primary comes
// first, then the alternates; a repeated fd (the reference's routing
// table lists the LFA primary twice) is harmless. Simple uses only the
// first next hop.
type Entry struct {
	Dst      uint64
	NextHops []int
}

// Table is a forwarding table under one policy. Create it with New.
type Table struct {
	pol  Policy
	snap atomic.Pointer[snapshot]

	mu      sync.Mutex       // guards entries and down; serialises writers
	entries map[uint64][]int // installed next hops, owned copies
	down    map[int]struct{} // flows marked down by SetFlowState
}

// snapshot is immutable once published. hops[dst] holds the next hops a
// lookup chooses among: one for Simple and Alternate, the usable ones for
// Multipath.
type snapshot struct {
	hops map[uint64][]int
}

// New returns an empty table under pol.
func New(pol Policy) (*Table, error) {
	if pol > Multipath {
		return nil, fmt.Errorf("new table with %d: %w", pol, ErrPolicy)
	}
	t := &Table{
		pol:     pol,
		entries: make(map[uint64][]int),
		down:    make(map[int]struct{}),
	}
	t.snap.Store(&snapshot{})
	return t, nil
}

// Policy returns the table's policy.
func (t *Table) Policy() Policy { return t.pol }

// NextHop returns the flow descriptor towards dst. For Multipath it is
// NextHopHash with hash 0.
func (t *Table) NextHop(dst uint64) (fd int, ok bool) { return t.NextHopHash(dst, 0) }

// NextHopHash returns the flow descriptor towards dst; under Multipath,
// hash picks one of the usable next hops, so packets with the same hash
// (e.g. of one flow) keep the same path. The other policies ignore hash.
// It neither locks nor allocates.
func (t *Table) NextHopHash(dst, hash uint64) (fd int, ok bool) {
	h, ok := t.snap.Load().hops[dst]
	switch {
	case !ok:
		return -1, false
	case len(h) == 1:
		return h[0], true
	}
	return h[hash%uint64(len(h))], true
}

// Len returns the number of destinations in the table.
func (t *Table) Len() int { return len(t.snap.Load().hops) }

// Entries returns the installed entries in ascending Dst order, next hops
// as they were given (not as flow states reorder them).
func (t *Table) Entries() []Entry {
	t.mu.Lock()
	defer t.mu.Unlock()
	es := make([]Entry, 0, len(t.entries))
	for _, dst := range slices.Sorted(maps.Keys(t.entries)) {
		es = append(es, Entry{Dst: dst, NextHops: slices.Clone(t.entries[dst])})
	}
	return es
}

// Replace flushes the table and installs entries, as the link-state
// component does after every routing-table computation (pff_flush then
// pff_add). Like the reference's flush it forgets every down mark. On
// error the table is left unchanged.
func (t *Table) Replace(entries []Entry) error {
	m := make(map[uint64][]int, len(entries))
	for _, e := range entries {
		if len(e.NextHops) == 0 {
			return fmt.Errorf("replace dst %d: %w", e.Dst, ErrNoNextHop)
		}
		if _, dup := m[e.Dst]; dup {
			return fmt.Errorf("replace dst %d: %w", e.Dst, ErrDuplicate)
		}
		m[e.Dst] = slices.Clone(e.NextHops)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.entries = m
	clear(t.down)
	t.publish()
	return nil
}

// Set adds or replaces the entry of dst (pff_add / pff_update). Down
// marks are kept and apply to the new next hops at once.
func (t *Table) Set(dst uint64, nextHops []int) error {
	if len(nextHops) == 0 {
		return fmt.Errorf("set dst %d: %w", dst, ErrNoNextHop)
	}
	hops := slices.Clone(nextHops)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.entries[dst] = hops
	t.publish()
	return nil
}

// Delete removes the entry of dst (pff_del).
func (t *Table) Delete(dst uint64) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.entries[dst]; !ok {
		return fmt.Errorf("delete dst %d: %w", dst, ErrNoEntry)
	}
	delete(t.entries, dst)
	t.publish()
	return nil
}

// SetFlowState marks the N-1 flow fd down or up again
// (pff_flow_state_change). Alternate then forwards on the first listed
// next hop that is not down, and Multipath spreads over those that are
// not; Simple keeps its one next hop regardless.
func (t *Table) SetFlowState(fd int, up bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, wasDown := t.down[fd]
	if up != wasDown {
		return // no change
	}
	if up {
		delete(t.down, fd)
	} else {
		t.down[fd] = struct{}{}
	}
	if t.pol != Simple {
		t.publish()
	}
}

// publish builds the snapshot of entries under the current down marks and
// swaps it in. t.mu must be held.
func (t *Table) publish() {
	n := 0
	for _, h := range t.entries {
		n += len(h)
	}
	buf := make([]int, 0, n)
	hops := make(map[uint64][]int, len(t.entries))
	for dst, h := range t.entries {
		start := len(buf)
		buf = t.usable(buf, h)
		hops[dst] = buf[start:len(buf):len(buf)]
	}
	t.snap.Store(&snapshot{hops: hops})
}

// usable appends to buf the next hops a lookup chooses among.
func (t *Table) usable(buf, h []int) []int {
	switch t.pol {
	case Alternate:
		for _, fd := range h {
			if _, down := t.down[fd]; !down {
				return append(buf, fd)
			}
		}
		// Nothing usable: stay on the primary, as the reference does.
		return append(buf, h[0])
	case Multipath:
		start := len(buf)
		for _, fd := range h {
			if _, down := t.down[fd]; !down {
				buf = append(buf, fd)
			}
		}
		if len(buf) == start {
			buf = append(buf, h...) // all down: keep spreading over all
		}
		return buf
	}
	return append(buf, h[0])
}
