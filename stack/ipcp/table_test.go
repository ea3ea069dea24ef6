package ipcp

import "testing"

// TestTable: entries are found by id; a block is made for the first entry
// in it and let go with its last; clearing what is not there does
// nothing; ids past the size are never found.
func TestTable(t *testing.T) {
	tb := NewTable[int](1000) // 4 blocks, the last one short
	v1, v2, v3, v4 := new(int), new(int), new(int), new(int)
	tb.Store(1, v1)
	tb.Store(300, v2)
	tb.Store(301, v3)
	tb.Store(999, v4)
	tb.Store(1, v1) // again: still one entry in the block
	for id, want := range map[uint32]*int{1: v1, 300: v2, 301: v3, 999: v4, 2: nil, 1000: nil, 1 << 20: nil} {
		if got := tb.Load(id); got != want {
			t.Fatalf("Load(%d) = %p, want %p", id, got, want)
		}
	}
	if n := tb.Blocks(); n != 3 {
		t.Fatalf("%d blocks, want 3", n)
	}
	tb.Store(300, nil)
	if tb.Blocks() != 3 || tb.Load(301) != v3 {
		t.Fatal("a block let go while an entry is in it")
	}
	tb.Store(301, nil)
	tb.Store(301, nil)
	tb.Store(500, nil)
	if tb.Blocks() != 2 || tb.Load(301) != nil {
		t.Fatalf("%d blocks after the last entry of one went, want 2", tb.Blocks())
	}
	tb.Store(1, nil)
	tb.Store(999, nil)
	if tb.Blocks() != 0 {
		t.Fatalf("%d blocks in an empty table, want 0", tb.Blocks())
	}
	tb.Store(301, v3) // a block made again
	if tb.Load(301) != v3 || tb.Blocks() != 1 {
		t.Fatal("no block made again")
	}
}

// TestTableLoadDoesNotAllocate: the readers' lookup.
func TestTableLoadDoesNotAllocate(t *testing.T) {
	tb := NewTable[int](1 << 14)
	tb.Store(70, new(int))
	if n := testing.AllocsPerRun(100, func() { tb.Load(70); tb.Load(9000) }); n != 0 {
		t.Fatalf("Load allocates %v", n)
	}
}
