package ipcp

import "sync/atomic"

// tableBlock is how many endpoints one block of a Table holds.
const tableBlock = 256

// Table maps an IPCP's endpoint ids (0 up to its size) to its flows: the
// shims' readers look ids up without locks, and the IPCP stores them under
// its own lock (one writer at a time). It is made of blocks of 256
// entries, made when a flow first needs one and let go when its last flow
// goes, so that an IPCP with a few flows holds a block or two (2 KiB
// each), not a pointer for every id it could give out (128 KiB for the
// udp IPCP's 16384, which the garbage collector would also scan at every
// cycle). A lookup is two atomic loads.
type Table[T any] struct {
	blocks []atomic.Pointer[[tableBlock]atomic.Pointer[T]]
	inUse  []uint16 // entries set in each block
}

// NewTable returns an empty table for ids below size.
func NewTable[T any](size int) *Table[T] {
	n := (size + tableBlock - 1) / tableBlock
	return &Table[T]{blocks: make([]atomic.Pointer[[tableBlock]atomic.Pointer[T]], n), inUse: make([]uint16, n)}
}

// Load returns the entry of id, or nil (also for an id past the size).
func (t *Table[T]) Load(id uint32) *T {
	i := int(id / tableBlock)
	if i >= len(t.blocks) {
		return nil
	}
	b := t.blocks[i].Load()
	if b == nil {
		return nil
	}
	return b[id%tableBlock].Load()
}

// Store sets the entry of id (below the size) to v; nil clears it. Calls
// to Store must not run at the same time.
func (t *Table[T]) Store(id uint32, v *T) {
	i := id / tableBlock
	b := t.blocks[i].Load()
	switch {
	case v != nil && b == nil:
		b = new([tableBlock]atomic.Pointer[T])
		t.blocks[i].Store(b)
	case b == nil:
		return
	}
	old := b[id%tableBlock].Swap(v)
	switch {
	case old == nil && v != nil:
		t.inUse[i]++
	case old != nil && v == nil:
		if t.inUse[i]--; t.inUse[i] == 0 {
			// A reader that loaded the block before this sees nil
			// entries in it, as it would in the table.
			t.blocks[i].Store(nil)
		}
	}
}

// Blocks is how many blocks the table holds now (for tests).
func (t *Table[T]) Blocks() int {
	n := 0
	for i := range t.blocks {
		if t.blocks[i].Load() != nil {
			n++
		}
	}
	return n
}
