package udp

import "sync/atomic"

// eidBlock is how many eids one block of the demux table holds.
const eidBlock = 256

// demuxTable maps a local eid to its flow. The reader looks eids up
// without locks; the IPCP stores them with p.mu held. It is a table of
// blocks of eidBlock entries, made when a flow first needs one and let go
// when its last flow goes, so that an IPCP with a few flows holds a block
// or two (2 KiB each), not MaxFlows pointers (128 KiB, which the garbage
// collector would scan at every cycle).
type demuxTable struct {
	blocks [MaxFlows / eidBlock]atomic.Pointer[[eidBlock]atomic.Pointer[flow]]
	inUse  [MaxFlows / eidBlock]uint16 // flows in each block; guarded by p.mu
}

// load returns the flow with the eid (below MaxFlows), or nil.
func (t *demuxTable) load(eid uint32) *flow {
	b := t.blocks[eid/eidBlock].Load()
	if b == nil {
		return nil
	}
	return b[eid%eidBlock].Load()
}

// store installs f at its eid (nil: removes what is there); p.mu is held.
func (t *demuxTable) store(eid uint32, f *flow) {
	i := eid / eidBlock
	b := t.blocks[i].Load()
	switch {
	case f != nil && b == nil:
		b = new([eidBlock]atomic.Pointer[flow])
		t.blocks[i].Store(b)
	case b == nil:
		return
	}
	old := b[eid%eidBlock].Swap(f)
	switch {
	case old == nil && f != nil:
		t.inUse[i]++
	case old != nil && f == nil:
		if t.inUse[i]--; t.inUse[i] == 0 {
			// A reader that loaded the block before sees nil entries in
			// it, as it would in the table.
			t.blocks[i].Store(nil)
		}
	}
}

// eidSet is the set of reserved or installed eids, a bit each.
type eidSet [MaxFlows / 64]uint64

func (s *eidSet) has(eid uint32) bool { return s[eid/64]&(1<<(eid%64)) != 0 }
func (s *eidSet) add(eid uint32)      { s[eid/64] |= 1 << (eid % 64) }
func (s *eidSet) remove(eid uint32)   { s[eid/64] &^= 1 << (eid % 64) }
