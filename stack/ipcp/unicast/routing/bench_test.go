package routing

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// randomGraph builds a seeded random connected graph on addresses
// 1..n: a random spanning tree (node i links to a random earlier node)
// plus extra random links.
func randomGraph(t testing.TB, seed uint64, n, extra int) *Graph {
	r := rand.New(rand.NewPCG(seed, 0x6f75726f))
	var g Graph
	for i := 1; i < n; i++ {
		link(t, &g, uint64(i+1), uint64(r.IntN(i)+1))
	}
	for range extra {
		a, b := uint64(r.IntN(n)+1), uint64(r.IntN(n)+1)
		if a != b && !g.Linked(a, b) {
			link(t, &g, a, b)
		}
	}
	return &g
}

// TestGraphRandomInvariants cross-checks the policies on random graphs
// against a plain BFS: every destination is routed; the Simple next hop
// and the LFA primary coincide and lie on a shortest path; ECMP holds
// exactly the neighbours on a shortest path; every LFA alternate
// satisfies the inequality; next-hop lists are sorted and free of
// duplicates after the primary.
func TestGraphRandomInvariants(t *testing.T) {
	for seed := range uint64(20) {
		g := randomGraph(t, seed, 30, 30)
		dist := func(a, b uint64) int32 {
			tp := g.topo()
			i, _ := tp.index(a)
			j, _ := tp.index(b)
			d := make([]int32, len(tp.addrs))
			tp.bfs(int32(i), d, nil)
			return d[j]
		}
		simple := table(t, g, Simple, 1)
		lfa := table(t, g, LFA, 1)
		ecmp := table(t, g, ECMP, 1)
		if len(simple) != 29 || len(lfa) != 29 || len(ecmp) != 29 {
			t.Fatalf("seed %d: %d/%d/%d routes, want 29", seed, len(simple), len(lfa), len(ecmp))
		}
		for i, s := range simple {
			d, p := s.Dst, s.NextHops[0]
			if lfa[i].NextHops[0] != p {
				t.Fatalf("seed %d dst %d: LFA primary %d, Simple %d", seed, d, lfa[i].NextHops[0], p)
			}
			if !slices.Contains(ecmp[i].NextHops, p) {
				t.Fatalf("seed %d dst %d: Simple %d not in ECMP %v", seed, d, p, ecmp[i].NextHops)
			}
			if !slices.IsSorted(ecmp[i].NextHops) || !slices.IsSorted(lfa[i].NextHops[1:]) {
				t.Fatalf("seed %d dst %d: unsorted %v / %v", seed, d, ecmp[i].NextHops, lfa[i].NextHops)
			}
			for n := uint64(2); n <= 30; n++ {
				if !g.Linked(1, n) {
					continue
				}
				onPath := dist(n, d)+1 == dist(1, d)
				if onPath != slices.Contains(ecmp[i].NextHops, n) {
					t.Fatalf("seed %d dst %d: neighbour %d on a shortest path = %v, ECMP %v", seed, d, n, onPath, ecmp[i].NextHops)
				}
				isLFA := n != d && n != p && dist(n, d) < dist(n, 1)+dist(1, d)
				if isLFA != slices.Contains(lfa[i].NextHops[1:], n) {
					t.Fatalf("seed %d dst %d: neighbour %d alternate = %v, LFA %v", seed, d, n, isLFA, lfa[i].NextHops)
				}
			}
		}
	}
}

// BenchmarkTable computes the table of node 1 in a seeded random
// connected graph of 100 nodes and about 250 links.
func BenchmarkTable(b *testing.B) {
	g := randomGraph(b, 1, 100, 150)
	for _, pol := range policies {
		b.Run(pol.String(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := g.Table(pol, 1); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
