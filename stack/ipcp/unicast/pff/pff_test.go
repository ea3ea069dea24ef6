package pff

import (
	"errors"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func newTable(t testing.TB, pol Policy, es ...Entry) *Table {
	t.Helper()
	tb, err := New(pol)
	if err != nil {
		t.Fatalf("New(%v): %v", pol, err)
	}
	if err := tb.Replace(es); err != nil {
		t.Fatalf("Replace: %v", err)
	}
	return tb
}

func wantHop(t testing.TB, tb *Table, dst, hash uint64, want int) {
	t.Helper()
	fd, ok := tb.NextHopHash(dst, hash)
	if !ok || fd != want {
		t.Fatalf("NextHopHash(%d, %d) = %d, %v; want %d, true", dst, hash, fd, ok, want)
	}
}

func TestNewPolicy(t *testing.T) {
	if _, err := New(3); !errors.Is(err, ErrPolicy) {
		t.Fatalf("New(3) err = %v, want ErrPolicy", err)
	}
	for p, want := range map[Policy]string{Simple: "simple", Alternate: "alternate", Multipath: "multipath", 9: "policy(9)"} {
		if got := p.String(); got != want {
			t.Errorf("Policy(%d).String() = %q, want %q", uint8(p), got, want)
		}
	}
}

func TestSimple(t *testing.T) {
	tb := newTable(t, Simple, Entry{Dst: 2, NextHops: []int{7}}, Entry{Dst: 3, NextHops: []int{8, 9}})
	wantHop(t, tb, 2, 0, 7)
	// Only the first next hop is used, whatever the hash or flow state.
	wantHop(t, tb, 3, 1, 8)
	tb.SetFlowState(8, false)
	wantHop(t, tb, 3, 1, 8)
	if fd, ok := tb.NextHop(4); ok || fd != -1 {
		t.Fatalf("NextHop(4) = %d, %v; want -1, false", fd, ok)
	}
	if tb.Policy() != Simple || tb.Len() != 2 {
		t.Fatalf("Policy, Len = %v, %d; want simple, 2", tb.Policy(), tb.Len())
	}
}

// TestAlternate walks the fail-over of one destination with primary 10
// and alternates 11 and 12.
func TestAlternate(t *testing.T) {
	tb := newTable(t, Alternate,
		Entry{Dst: 5, NextHops: []int{10, 11, 12}},
		Entry{Dst: 6, NextHops: []int{11, 10}},
		Entry{Dst: 7, NextHops: []int{12}},
	)
	steps := []struct {
		fd       int
		up       bool
		d5, d6   int
		d7       int
		describe string
	}{
		{10, false, 11, 11, 12, "primary of 5 down: first alternate"},
		{11, false, 12, 11, 12, "that alternate down too: the next; 6 has nothing left and stays on its primary"},
		{11, true, 11, 11, 12, "an earlier alternate back: preferred again"},
		{10, true, 10, 11, 12, "primary back: restored"},
		{12, false, 10, 11, 12, "a lone next hop down: still used"},
	}
	for _, s := range steps {
		tb.SetFlowState(s.fd, s.up)
		for dst, want := range map[uint64]int{5: s.d5, 6: s.d6, 7: s.d7} {
			if fd, _ := tb.NextHop(dst); fd != want {
				t.Fatalf("%s: NextHop(%d) = %d, want %d", s.describe, dst, fd, want)
			}
		}
	}
}

// TestAlternateReferenceList: the reference's LFA routing table repeats
// the primary among the alternates ([P, A, P]); fail-over still works.
func TestAlternateReferenceList(t *testing.T) {
	tb := newTable(t, Alternate, Entry{Dst: 1, NextHops: []int{3, 4, 3}})
	tb.SetFlowState(3, false)
	wantHop(t, tb, 1, 0, 4)
	tb.SetFlowState(3, true)
	wantHop(t, tb, 1, 0, 3)
}

func TestMultipath(t *testing.T) {
	tb := newTable(t, Multipath, Entry{Dst: 9, NextHops: []int{4, 5, 6}}, Entry{Dst: 8, NextHops: []int{4}})
	for hash, want := range []int{4, 5, 6, 4, 5, 6} {
		wantHop(t, tb, 9, uint64(hash), want)
	}
	wantHop(t, tb, 9, 1<<63+1, []int{4, 5, 6}[(1<<63+1)%3])
	wantHop(t, tb, 8, 7, 4)

	tb.SetFlowState(5, false)
	for hash, want := range []int{4, 6, 4, 6} {
		wantHop(t, tb, 9, uint64(hash), want)
	}
	tb.SetFlowState(4, false)
	tb.SetFlowState(6, false)
	// Everything down: spread over all of them rather than drop.
	for hash, want := range []int{4, 5, 6} {
		wantHop(t, tb, 9, uint64(hash), want)
	}
	tb.SetFlowState(5, true)
	wantHop(t, tb, 9, 0, 5)
	wantHop(t, tb, 9, 2, 5)
}

func TestReplaceForgetsDownMarks(t *testing.T) {
	es := []Entry{{Dst: 1, NextHops: []int{3, 4}}}
	tb := newTable(t, Alternate, es...)
	tb.SetFlowState(3, false)
	wantHop(t, tb, 1, 0, 4)
	// Set keeps the mark: the new entry fails over at once.
	if err := tb.Set(2, []int{3, 5}); err != nil {
		t.Fatal(err)
	}
	wantHop(t, tb, 2, 0, 5)
	// Replace is the reference's flush + add: marks are gone.
	if err := tb.Replace(es); err != nil {
		t.Fatal(err)
	}
	wantHop(t, tb, 1, 0, 3)
	if _, ok := tb.NextHop(2); ok {
		t.Fatal("dst 2 survived Replace")
	}
}

func TestReplaceRejects(t *testing.T) {
	good := []Entry{{Dst: 1, NextHops: []int{3}}}
	tests := []struct {
		name string
		es   []Entry
		err  error
	}{
		{"empty next hops", []Entry{{Dst: 2}}, ErrNoNextHop},
		{"duplicate", []Entry{{Dst: 2, NextHops: []int{3}}, {Dst: 2, NextHops: []int{4}}}, ErrDuplicate},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tb := newTable(t, Simple, good...)
			if err := tb.Replace(tc.es); !errors.Is(err, tc.err) {
				t.Fatalf("Replace err = %v, want %v", err, tc.err)
			}
			if diff := cmp.Diff(good, tb.Entries()); diff != "" {
				t.Fatalf("table changed by a rejected Replace (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSetDelete(t *testing.T) {
	tb := newTable(t, Simple)
	if err := tb.Set(1, nil); !errors.Is(err, ErrNoNextHop) {
		t.Fatalf("Set(nil) err = %v, want ErrNoNextHop", err)
	}
	hops := []int{3}
	if err := tb.Set(1, hops); err != nil {
		t.Fatal(err)
	}
	hops[0] = 99 // the table keeps its own copy
	wantHop(t, tb, 1, 0, 3)
	if err := tb.Set(1, []int{4}); err != nil {
		t.Fatal(err)
	}
	wantHop(t, tb, 1, 0, 4)
	if err := tb.Delete(1); err != nil {
		t.Fatal(err)
	}
	if err := tb.Delete(1); !errors.Is(err, ErrNoEntry) {
		t.Fatalf("second Delete err = %v, want ErrNoEntry", err)
	}
	if tb.Len() != 0 {
		t.Fatalf("Len = %d, want 0", tb.Len())
	}
}

// TestCollidingKeys mirrors pft_test: more entries than the reference's
// 256 buckets, so keys collide modulo the bucket count; lookups find the
// right ones, and deleting one of a colliding pair leaves the other.
func TestCollidingKeys(t *testing.T) {
	const tblSize, intTest = 256, 4
	var es []Entry
	for i := range tblSize + intTest + 2 {
		es = append(es, Entry{Dst: uint64(i), NextHops: []int{i}})
	}
	tb := newTable(t, Simple, es...)
	wantHop(t, tb, intTest, 0, intTest)
	wantHop(t, tb, tblSize+intTest, 0, tblSize+intTest)
	if err := tb.Delete(intTest); err != nil {
		t.Fatal(err)
	}
	if _, ok := tb.NextHop(intTest); ok {
		t.Fatal("deleted entry still found")
	}
	wantHop(t, tb, tblSize+intTest, 0, tblSize+intTest)
}

func TestEntries(t *testing.T) {
	tb := newTable(t, Alternate, Entry{Dst: 9, NextHops: []int{1, 2}}, Entry{Dst: 3, NextHops: []int{2}})
	tb.SetFlowState(1, false) // reorders lookups, not the entries
	want := []Entry{{Dst: 3, NextHops: []int{2}}, {Dst: 9, NextHops: []int{1, 2}}}
	if diff := cmp.Diff(want, tb.Entries()); diff != "" {
		t.Fatalf("Entries (-want +got):\n%s", diff)
	}
}

func TestLookupDoesNotAllocate(t *testing.T) {
	for _, pol := range []Policy{Simple, Alternate, Multipath} {
		tb := newTable(t, pol, Entry{Dst: 1, NextHops: []int{3, 4, 5}})
		tb.SetFlowState(3, false)
		var h uint64
		n := testing.AllocsPerRun(1000, func() {
			h++
			tb.NextHopHash(1, h)
			tb.NextHop(1)
			tb.NextHop(2)
		})
		if n != 0 {
			t.Errorf("%v: allocs per run = %v, want 0", pol, n)
		}
	}
}

// TestConcurrentLookups races lookups against every writer; run with
// -race. Every lookup must see a complete table: dst 1 always resolves
// to one of its next hops.
func TestConcurrentLookups(t *testing.T) {
	for _, pol := range []Policy{Simple, Alternate, Multipath} {
		t.Run(pol.String(), func(t *testing.T) {
			es := []Entry{{Dst: 1, NextHops: []int{3, 4}}, {Dst: 2, NextHops: []int{4}}}
			tb := newTable(t, pol, es...)
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for r := range 4 {
				wg.Go(func() {
					for h := uint64(r); ; h++ {
						select {
						case <-stop:
							return
						default:
						}
						if fd, ok := tb.NextHopHash(1, h); !ok || (fd != 3 && fd != 4) {
							t.Errorf("NextHopHash(1) = %d, %v", fd, ok)
							return
						}
					}
				})
			}
			for i := range 500 {
				tb.SetFlowState(3+i%2, i%4 < 2)
				if err := tb.Set(2, []int{i}); err != nil {
					t.Fatal(err)
				}
				if err := tb.Replace(es); err != nil {
					t.Fatal(err)
				}
			}
			close(stop)
			wg.Wait()
		})
	}
}
