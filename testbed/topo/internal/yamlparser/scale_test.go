package yamlparser_test

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/goccy/go-yaml/parser"

	"github.com/o7s/ouroboros/testbed/topo/internal/yamlparser"
)

// wide is a block mapping of n keys, each with a flow mapping.
func wide(n int) []byte {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "k%d: {a: 1}\n", i)
	}
	return []byte(b.String())
}

// allocated is how many bytes fn allocates.
func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestWideMapLinear: parsing a block mapping of ten times the keys
// allocates about ten times the memory (upstream: about seventy times at
// these sizes, and more the wider the mapping).
func TestWideMapLinear(t *testing.T) {
	small, large := wide(500), wide(5000)
	parse := func(data []byte) func() {
		return func() {
			if _, err := yamlparser.ParseBytes(data, 0); err != nil {
				t.Fatal(err)
			}
		}
	}
	a, b := allocated(parse(small)), allocated(parse(large))
	if r := float64(b) / float64(a); r > 15 {
		t.Errorf("10x the keys allocate %.1fx the memory (%d B, then %d B), want about 10x", r, a, b)
	}
}

// TestMaxDepth: every collection and scalar value is a level.
func TestMaxDepth(t *testing.T) {
	for _, tc := range []struct {
		src    string
		levels int
	}{
		{strings.Repeat("[", 8) + strings.Repeat("]", 8), 8},
		{"a: {b: [c, {d: e}]}", 5},
		{"a:\n b:\n  c:\n   d: e\n", 5},
		{"- - - - a\n", 5},
		{"a: &x [b]\nc: !!str d\n", 4},
	} {
		for _, limit := range []int{tc.levels - 1, tc.levels} {
			_, err := yamlparser.ParseBytes([]byte(tc.src), 0, yamlparser.MaxDepth(limit))
			if deep := limit < tc.levels; errors.Is(err, yamlparser.ErrTooDeep) != deep {
				t.Errorf("%q with MaxDepth(%d): err = %v, want ErrTooDeep: %v", tc.src, limit, err, deep)
			}
		}
	}
}

// BenchmarkWideMap: a block mapping of n keys, the copy and upstream.
//
//	go test -run '^$' -bench WideMap -benchtime 1x ./testbed/topo/internal/yamlparser
func BenchmarkWideMap(b *testing.B) {
	for _, n := range []int{1000, 10000, 100000} {
		data := wide(n)
		for _, p := range []struct {
			name  string
			parse func() error
		}{
			{"copy", func() error { _, err := yamlparser.ParseBytes(data, 0); return err }},
			{"upstream", func() error { _, err := parser.ParseBytes(data, 0); return err }},
		} {
			b.Run(fmt.Sprintf("keys=%d/%s", n, p.name), func(b *testing.B) {
				b.SetBytes(int64(len(data)))
				b.ReportAllocs()
				for b.Loop() {
					if err := p.parse(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
