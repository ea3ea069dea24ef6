package topo

import (
	"slices"
	"testing"
)

func TestCompareNames(t *testing.T) {
	got := []string{"n10", "n2", "n1", "n100", "a", "n02", "n", "b1", "net.n9", "net.n10", "n1x", "n1a"}
	slices.SortFunc(got, CompareNames)
	want := []string{"a", "b1", "n", "n1", "n1a", "n1x", "n2", "n02", "n10", "n100", "net.n9", "net.n10"}
	if !slices.Equal(got, want) {
		t.Errorf("sorted = %v, want %v", got, want)
	}
	for _, s := range want {
		if CompareNames(s, s) != 0 {
			t.Errorf("CompareNames(%q, %q) != 0", s, s)
		}
	}
}
