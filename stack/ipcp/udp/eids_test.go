package udp

import "testing"

// TestDemuxTable: flows are found by eid; a block is made for the first
// flow in it and let go with its last; removing what is not there does
// nothing.
func TestDemuxTable(t *testing.T) {
	var tb demuxTable
	f1, f2, f3 := &flow{eid: 1}, &flow{eid: 300}, &flow{eid: 301}
	for _, f := range []*flow{f1, f2, f3} {
		tb.store(f.eid, f)
	}
	tb.store(f1.eid, f1) // again: still one flow in the block
	for _, f := range []*flow{f1, f2, f3} {
		if got := tb.load(f.eid); got != f {
			t.Fatalf("load(%d) = %p, want %p", f.eid, got, f)
		}
	}
	if tb.load(2) != nil || tb.load(MaxFlows-1) != nil {
		t.Fatal("a flow found where none was stored")
	}
	if tb.blocks[0].Load() == nil || tb.blocks[1].Load() == nil || tb.blocks[2].Load() != nil {
		t.Fatal("blocks 0 and 1 should be made, and no other")
	}
	tb.store(f2.eid, nil)
	if tb.blocks[1].Load() == nil || tb.load(f3.eid) != f3 {
		t.Fatal("block 1 let go while a flow is in it")
	}
	tb.store(f3.eid, nil)
	tb.store(f3.eid, nil)
	tb.store(5000, nil)
	if tb.blocks[1].Load() != nil || tb.load(f3.eid) != nil || tb.inUse[1] != 0 {
		t.Fatalf("block 1 kept after its last flow went (in use %d)", tb.inUse[1])
	}
	tb.store(f1.eid, nil)
	if tb.blocks[0].Load() != nil {
		t.Fatal("block 0 kept after its last flow went")
	}
}

func TestEIDSet(t *testing.T) {
	var s eidSet
	for _, e := range []uint32{1, 63, 64, MaxFlows - 1} {
		if s.has(e) {
			t.Fatalf("%d in an empty set", e)
		}
		s.add(e)
		if !s.has(e) {
			t.Fatalf("%d not in the set after add", e)
		}
	}
	s.remove(63)
	if s.has(63) || !s.has(64) || !s.has(1) {
		t.Fatal("remove took the wrong eid")
	}
}
