package topo

import (
	"fmt"
	"strings"
	"testing"
)

// line is a topology of n nodes in a line with one unicast layer over the
// links' eth-dix layers, and the given policies line (may be empty).
func line(n int, policies string) []byte {
	var b strings.Builder
	b.WriteString("name: line\nnodes:\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "  n%d: {}\n", i)
	}
	b.WriteString("links:\n")
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "  - endpoints: [n%d:e2, n%d:e1]\n", i, i+1)
	}
	b.WriteString("layers:\n  net:\n    type: unicast\n    members: [")
	for i := 1; i <= n; i++ {
		if i > 1 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "n%d", i)
	}
	b.WriteString("]\n    lower:\n")
	for i := 1; i <= n; i++ {
		var lo []string
		if i > 1 {
			lo = append(lo, fmt.Sprintf("dix-n%d-n%d", i-1, i))
		}
		if i < n {
			lo = append(lo, fmt.Sprintf("dix-n%d-n%d", i, i+1))
		}
		fmt.Fprintf(&b, "      n%d: [%s]\n", i, strings.Join(lo, ", "))
	}
	if policies != "" {
		b.WriteString("    policies: " + policies + "\n")
	}
	return []byte(b.String())
}

func TestLayerWiderThanTTL(t *testing.T) {
	if _, err := Parse("line.yaml", line(61, "")); err != nil {
		t.Fatalf("60 hops with max_ttl 60: %v", err)
	}
	_, err := Parse("line.yaml", line(70, ""))
	want := "layer net is 69 hops across (from n1 to n70), more than its max_ttl of 60, so packets between them would be dropped; write policies: {max_ttl: 69}"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("70-node line with the default max_ttl: %v; want %q", err, want)
	}
	if _, err := Parse("line.yaml", line(70, "{max_ttl: 69}")); err != nil {
		t.Errorf("70-node line with max_ttl 69: %v", err)
	}
	_, err = Parse("line.yaml", line(300, "{max_ttl: 255}"))
	if err == nil || !strings.Contains(err.Error(), "is 299 hops across") || !strings.Contains(err.Error(), "at most 255") {
		t.Errorf("300-node line: %v; want the 255-hop limit named", err)
	}
}

func TestDiameter(t *testing.T) {
	ring := make([][]int, 10)
	for i := range ring {
		ring[i] = []int{(i + 1) % 10, (i + 9) % 10}
	}
	if d, _, _ := diameter(ring); d != 5 {
		t.Errorf("10-ring diameter = %d, want 5", d)
	}
	big := make([][]int, exactDiameter+1) // a line, over the exact bound
	for i := range big {
		if i > 0 {
			big[i] = append(big[i], i-1)
		}
		if i < len(big)-1 {
			big[i] = append(big[i], i+1)
		}
	}
	if d, _, _ := diameter(big); d != exactDiameter {
		t.Errorf("line of %d: diameter %d, want %d", len(big), d, exactDiameter)
	}
}
