package pff

import "testing"

// BenchmarkNextHop looks up destinations in a table of 1000 entries
// with three next hops each.
func BenchmarkNextHop(b *testing.B) {
	for _, pol := range []Policy{Simple, Alternate, Multipath} {
		b.Run(pol.String(), func(b *testing.B) {
			es := make([]Entry, 1000)
			for i := range es {
				es[i] = Entry{Dst: uint64(i), NextHops: []int{i % 7, i%7 + 1, i%7 + 2}}
			}
			tb := newTable(b, pol, es...)
			tb.SetFlowState(0, false)
			b.ReportAllocs()
			var h uint64
			for b.Loop() {
				h++
				if _, ok := tb.NextHopHash(h%1000, h); !ok {
					b.Fatal("no next hop")
				}
			}
		})
	}
}
