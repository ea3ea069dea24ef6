package routing

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// link announces both directions of a link, as two LSDB entries do.
func link(t testing.TB, g *Graph, a, b uint64) {
	t.Helper()
	if err := g.AddEdge(a, b); err != nil {
		t.Fatalf("AddEdge(%d, %d): %v", a, b, err)
	}
	if err := g.AddEdge(b, a); err != nil {
		t.Fatalf("AddEdge(%d, %d): %v", b, a, err)
	}
}

func unlink(t testing.TB, g *Graph, a, b uint64) {
	t.Helper()
	if err := g.DelEdge(a, b); err != nil {
		t.Fatalf("DelEdge(%d, %d): %v", a, b, err)
	}
	if err := g.DelEdge(b, a); err != nil {
		t.Fatalf("DelEdge(%d, %d): %v", b, a, err)
	}
}

func table(t testing.TB, g *Graph, pol Policy, src uint64) []Route {
	t.Helper()
	r, err := g.Table(pol, src)
	if err != nil {
		t.Fatalf("Table(%v, %d): %v", pol, src, err)
	}
	return r
}

// routes builds a table from dst → next hops pairs, for compact wants.
func routes(pairs ...any) []Route {
	var rs []Route
	for i := 0; i < len(pairs); i += 2 {
		rs = append(rs, Route{Dst: uint64(pairs[i].(int)), NextHops: hops(pairs[i+1].([]int)...)})
	}
	return rs
}

func hops(h ...int) []uint64 {
	out := make([]uint64, len(h))
	for i, v := range h {
		out[i] = uint64(v)
	}
	return out
}

var policies = []Policy{Simple, LFA, ECMP}

// TestGraphReference replays graph_test.c step by step: the number of
// Simple entries from node 1 after each change, then the first next hop
// of every destination for Simple, LFA and ECMP (distance_check).
func TestGraphReference(t *testing.T) {
	var g Graph

	link(t, &g, 1, 2)
	// graph_test_single_link: one entry, 2 via 2.
	if diff := cmp.Diff(routes(2, []int{2}), table(t, &g, Simple, 1)); diff != "" {
		t.Fatalf("single link (-want +got):\n%s", diff)
	}

	link(t, &g, 2, 3)
	// graph_test_double_link: two entries, both via 2.
	if diff := cmp.Diff(routes(2, []int{2}, 3, []int{2}), table(t, &g, Simple, 1)); diff != "" {
		t.Fatalf("double link (-want +got):\n%s", diff)
	}

	unlink(t, &g, 2, 3)
	if diff := cmp.Diff(routes(2, []int{2}), table(t, &g, Simple, 1)); diff != "" {
		t.Fatalf("single link after delete (-want +got):\n%s", diff)
	}

	steps := []struct {
		links   [][2]uint64
		entries int
	}{
		{[][2]uint64{{2, 3}, {1, 3}}, 2},
		{[][2]uint64{{3, 4}, {4, 5}}, 4},
		{[][2]uint64{{2, 6}, {6, 7}, {3, 7}}, 6},
	}
	for _, s := range steps {
		for _, l := range s.links {
			link(t, &g, l[0], l[1])
		}
		if got := len(table(t, &g, Simple, 1)); got != s.entries {
			t.Fatalf("after adding %v: %d entries, want %d", s.links, got, s.entries)
		}
	}

	// distance_check: the same first next hop under every policy.
	want := map[uint64]uint64{2: 2, 3: 3, 4: 3, 5: 3, 6: 2, 7: 3}
	for _, pol := range policies {
		t.Run(pol.String(), func(t *testing.T) {
			rs := table(t, &g, pol, 1)
			if len(rs) != len(want) {
				t.Fatalf("%d entries, want %d", len(rs), len(want))
			}
			for _, r := range rs {
				if r.NextHops[0] != want[r.Dst] {
					t.Errorf("dst %d: next hop %d, want %d", r.Dst, r.NextHops[0], want[r.Dst])
				}
			}
		})
	}
}

// TestGraphReferenceFull pins the whole tables of the final graph of
// graph_test.c, which the reference test only checks by first next hop.
//
//	1 — 2 — 6
//	 \  |   |
//	  \ |   |
//	    3 — 7
//	    |
//	    4 — 5
//
// Distances from 1: 2,3 = 1; 4,6,7 = 2; 5 = 3. From neighbour 2: 3,6 = 1;
// 4,7 = 2; 5 = 3. From neighbour 3: 2,4,7 = 1; 5,6 = 2.
//
// LFA: the other neighbour n is an alternate for d when
// dist(n,d) < 1 + dist(1,d): for d=2, dist(3,2)=1 < 2; d=3, dist(2,3)=1 < 2;
// d=4, dist(2,4)=2 < 3; d=5, 3 < 4; d=6, dist(3,6)=2 < 3; d=7, dist(2,7)=2
// < 3. Every destination has one alternate.
//
// ECMP: n is a next hop for d when dist(n,d)+1 = dist(1,d); no destination
// has two shortest paths with different first hops, so every set is the
// Simple next hop alone.
func TestGraphReferenceFull(t *testing.T) {
	var g Graph
	for _, l := range [][2]uint64{{1, 2}, {2, 3}, {1, 3}, {3, 4}, {4, 5}, {2, 6}, {6, 7}, {3, 7}} {
		link(t, &g, l[0], l[1])
	}
	tests := []struct {
		pol  Policy
		want []Route
	}{
		{Simple, routes(2, []int{2}, 3, []int{3}, 4, []int{3}, 5, []int{3}, 6, []int{2}, 7, []int{3})},
		{LFA, routes(2, []int{2, 3}, 3, []int{3, 2}, 4, []int{3, 2}, 5, []int{3, 2}, 6, []int{2, 3}, 7, []int{3, 2})},
		{ECMP, routes(2, []int{2}, 3, []int{3}, 4, []int{3}, 5, []int{3}, 6, []int{2}, 7, []int{3})},
	}
	for _, tc := range tests {
		t.Run(tc.pol.String(), func(t *testing.T) {
			if diff := cmp.Diff(tc.want, table(t, &g, tc.pol, 1)); diff != "" {
				t.Fatalf("table from 1 (-want +got):\n%s", diff)
			}
		})
	}
}

// TestGraphPolicies checks small graphs whose tables from node 1 are
// derived by hand in each case's comment.
func TestGraphPolicies(t *testing.T) {
	tests := []struct {
		name  string
		links [][2]uint64
		want  map[Policy][]Route
	}{
		{
			// Square 1-2-3-4-1. dist(1,·): 2,4 = 1; 3 = 2. Simple: 3's
			// neighbours at distance 1 are 2 and 4; the lower, 2, wins.
			// LFA: d=2: dist(4,2)=2 < 1+1? no. d=3: dist(4,3)=1 < 1+2:
			// yes. d=4: dist(2,4)=2 < 2? no. ECMP: 3 via 2 and via 4.
			name:  "square",
			links: [][2]uint64{{1, 2}, {2, 3}, {3, 4}, {4, 1}},
			want: map[Policy][]Route{
				Simple: routes(2, []int{2}, 3, []int{2}, 4, []int{4}),
				LFA:    routes(2, []int{2}, 3, []int{2, 4}, 4, []int{4}),
				ECMP:   routes(2, []int{2}, 3, []int{2, 4}, 4, []int{4}),
			},
		},
		{
			// Pentagon 1-2-3-4-5-1. dist(1,·): 2,5 = 1; 3,4 = 2. Simple:
			// 3 via 2, 4 via 5. LFA: d=3: dist(5,3)=2 < 1+2: yes;
			// d=4: dist(2,4)=2 < 3: yes; d=2: dist(5,2)=2 < 2? no;
			// d=5 likewise. ECMP: dist(5,3)+1 = 3 ≠ 2, so one path each.
			name:  "pentagon",
			links: [][2]uint64{{1, 2}, {2, 3}, {3, 4}, {4, 5}, {5, 1}},
			want: map[Policy][]Route{
				Simple: routes(2, []int{2}, 3, []int{2}, 4, []int{5}, 5, []int{5}),
				LFA:    routes(2, []int{2}, 3, []int{2, 5}, 4, []int{5, 2}, 5, []int{5}),
				ECMP:   routes(2, []int{2}, 3, []int{2}, 4, []int{5}, 5, []int{5}),
			},
		},
		{
			// Diamond 1-{2,3}-4-5. dist(1,·): 2,3 = 1; 4 = 2; 5 = 3.
			// Simple: 4 via the lower of 2, 3. LFA: d=2: dist(3,2)=2 <
			// 2? no; d=4: dist(3,4)=1 < 3: yes; d=5: dist(3,5)=2 < 4:
			// yes. ECMP: 4 and 5 via both 2 and 3.
			name:  "diamond",
			links: [][2]uint64{{1, 2}, {1, 3}, {2, 4}, {3, 4}, {4, 5}},
			want: map[Policy][]Route{
				Simple: routes(2, []int{2}, 3, []int{3}, 4, []int{2}, 5, []int{2}),
				LFA:    routes(2, []int{2}, 3, []int{3}, 4, []int{2, 3}, 5, []int{2, 3}),
				ECMP:   routes(2, []int{2}, 3, []int{3}, 4, []int{2, 3}, 5, []int{2, 3}),
			},
		},
		{
			// Line 1-2-3 with a stub 1-4. A stub is never an alternate:
			// d=3: dist(4,3)=3 < 1+2? no; d=2: dist(4,2)=2 < 2? no.
			name:  "stub",
			links: [][2]uint64{{1, 2}, {2, 3}, {1, 4}},
			want: map[Policy][]Route{
				Simple: routes(2, []int{2}, 3, []int{2}, 4, []int{4}),
				LFA:    routes(2, []int{2}, 3, []int{2}, 4, []int{4}),
				ECMP:   routes(2, []int{2}, 3, []int{2}, 4, []int{4}),
			},
		},
		{
			// Two disjoint shortest paths 1-5-20-30 and 1-9-10-30.
			// Dijkstra settles 1, 5, 9, 10, 20, 30 (distance, then
			// address): 10 is settled before 20 and reaches 30 first, so
			// Simple sends 30 via 9 although 5 is the lower first hop;
			// ECMP lists both. LFA: d=30, primary 9: dist(5,30)=2 <
			// 1+3: yes. d=10, primary 9: dist(5,10)=3 < 1+2? no.
			// d=20, primary 5: dist(9,20)=3 < 3? no.
			name:  "tie on the predecessor",
			links: [][2]uint64{{1, 5}, {5, 20}, {20, 30}, {1, 9}, {9, 10}, {10, 30}},
			want: map[Policy][]Route{
				Simple: routes(5, []int{5}, 9, []int{9}, 10, []int{9}, 20, []int{5}, 30, []int{9}),
				LFA:    routes(5, []int{5}, 9, []int{9}, 10, []int{9}, 20, []int{5}, 30, []int{9, 5}),
				ECMP:   routes(5, []int{5}, 9, []int{9}, 10, []int{9}, 20, []int{5}, 30, []int{5, 9}),
			},
		},
		{
			// Partition: 1-2 and 3-4 are not connected; 3 and 4 have no
			// route from 1.
			name:  "partition",
			links: [][2]uint64{{1, 2}, {3, 4}},
			want: map[Policy][]Route{
				Simple: routes(2, []int{2}),
				LFA:    routes(2, []int{2}),
				ECMP:   routes(2, []int{2}),
			},
		},
	}
	for _, tc := range tests {
		var g Graph
		for _, l := range tc.links {
			link(t, &g, l[0], l[1])
		}
		for _, pol := range policies {
			t.Run(tc.name+"/"+pol.String(), func(t *testing.T) {
				if diff := cmp.Diff(tc.want[pol], table(t, &g, pol, 1)); diff != "" {
					t.Fatalf("table from 1 (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// TestGraphHalfAnnounced: a link is used only once both ends announced it.
// Triangle 1-2-3 where 3 has not (yet) announced 3 → 1: 3 is reached
// through 2 only, and 3 is no neighbour of 1 for LFA or ECMP.
func TestGraphHalfAnnounced(t *testing.T) {
	var g Graph
	link(t, &g, 1, 2)
	link(t, &g, 2, 3)
	if err := g.AddEdge(1, 3); err != nil {
		t.Fatal(err)
	}
	if g.Linked(1, 3) || g.Linked(3, 1) {
		t.Fatal("Linked(1, 3) with one direction announced")
	}
	want := routes(2, []int{2}, 3, []int{2})
	for _, pol := range policies {
		if diff := cmp.Diff(want, table(t, &g, pol, 1)); diff != "" {
			t.Errorf("%v (-want +got):\n%s", pol, diff)
		}
	}
	if err := g.AddEdge(3, 1); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(routes(2, []int{2}, 3, []int{3}), table(t, &g, Simple, 1)); diff != "" {
		t.Errorf("after 3 → 1 (-want +got):\n%s", diff)
	}
}

func TestGraphEdges(t *testing.T) {
	var g Graph
	if err := g.AddEdge(1, 1); !errors.Is(err, ErrSelfLoop) {
		t.Fatalf("AddEdge(1, 1) = %v, want ErrSelfLoop", err)
	}
	if err := g.DelEdge(1, 2); !errors.Is(err, ErrNoEdge) {
		t.Fatalf("DelEdge on an empty graph = %v, want ErrNoEdge", err)
	}
	link(t, &g, 1, 2)
	if err := g.AddEdge(1, 2); !errors.Is(err, ErrEdgeExists) {
		t.Fatalf("second AddEdge(1, 2) = %v, want ErrEdgeExists", err)
	}
	link(t, &g, 2, 3)
	if g.Len() != 3 || !g.Linked(2, 3) {
		t.Fatalf("Len = %d, Linked(2, 3) = %v; want 3, true", g.Len(), g.Linked(2, 3))
	}
	if err := g.DelEdge(2, 3); err != nil {
		t.Fatal(err)
	}
	// 3 keeps its own announcement 3 → 2, so it is still a vertex, but the
	// link is gone.
	if g.Len() != 3 || g.Linked(2, 3) {
		t.Fatalf("Len = %d, Linked(2, 3) = %v; want 3, false", g.Len(), g.Linked(2, 3))
	}
	if err := g.DelEdge(2, 3); !errors.Is(err, ErrNoEdge) {
		t.Fatalf("second DelEdge(2, 3) = %v, want ErrNoEdge", err)
	}
	if err := g.DelEdge(3, 2); err != nil {
		t.Fatal(err)
	}
	if g.Len() != 2 {
		t.Fatalf("Len = %d after removing 2-3, want 2", g.Len())
	}
	unlink(t, &g, 1, 2)
	if g.Len() != 0 {
		t.Fatalf("Len = %d after removing every link, want 0", g.Len())
	}
}

func TestGraphTableEdgeCases(t *testing.T) {
	var g Graph
	for _, pol := range policies {
		if rs := table(t, &g, pol, 1); len(rs) != 0 {
			t.Errorf("%v on an empty graph = %v, want none", pol, rs)
		}
	}
	link(t, &g, 1, 2)
	if rs := table(t, &g, Simple, 9); len(rs) != 0 {
		t.Errorf("table of an absent source = %v, want none", rs)
	}
	if _, err := g.Table(Policy(3), 1); !errors.Is(err, ErrPolicy) {
		t.Errorf("Table(policy 3) err = %v, want ErrPolicy", err)
	}
	// The routes own their next hops: changing one leaves the others.
	link(t, &g, 1, 3)
	rs := table(t, &g, Simple, 1)
	rs[0].NextHops = append(rs[0].NextHops, 99)
	if rs[1].NextHops[0] != 3 {
		t.Errorf("appending to one route changed another: %v", rs)
	}
}

func TestPolicyString(t *testing.T) {
	for p, want := range map[Policy]string{Simple: "simple", LFA: "lfa", ECMP: "ecmp", 7: "policy(7)"} {
		if got := p.String(); got != want {
			t.Errorf("Policy(%d).String() = %q, want %q", uint8(p), got, want)
		}
	}
}
