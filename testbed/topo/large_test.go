package topo_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/o7s/ouroboros/internal/wait"
	"github.com/o7s/ouroboros/testbed/topo"
)

// ring writes a topology of n nodes n0 … n(n-1) in a ring: n veth links
// (ni:e1--n(i+1):e2, the last back to n0), their implied dix layers, and
// one unicast layer, net, over all of them. With dangling, every link
// names two nodes that do not exist (x0:e1, y0:e1, …) and net's lower
// layers, which would have been the links', do not exist either.
func ring(n int, dangling bool) []byte {
	var b bytes.Buffer
	b.WriteString("name: big\nnodes:\n")
	for i := range n {
		fmt.Fprintf(&b, "  n%d: {}\n", i)
	}
	b.WriteString("links:\n")
	for i := range n {
		if dangling {
			fmt.Fprintf(&b, "  - endpoints: [x%d:e1, y%d:e1]\n", i, i)
		} else {
			fmt.Fprintf(&b, "  - endpoints: [n%d:e1, n%d:e2]\n", i, (i+1)%n)
		}
	}
	b.WriteString("layers:\n  net:\n    type: unicast\n    members: [")
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "n%d", i)
	}
	b.WriteString("]\n    lower:\n")
	for i := range n {
		fmt.Fprintf(&b, "      n%d: [dix-n%d-n%d, dix-n%d-n%d]\n", i, i, (i+1)%n, (i+n-1)%n, i)
	}
	// An adjacency on every link, and the largest max_ttl: a ring of up
	// to 510 nodes is narrow enough for it; a larger one is refused for
	// its width, at the end of the checks.
	b.WriteString("    connect: full-mesh\n    policies: {max_ttl: 255}\n")
	return b.Bytes()
}

// ringNodes is how many nodes make a ring file of about size bytes.
func ringNodes(size int) int {
	per := len(ring(1000, false)) / 1000
	return size / per
}

// TestRing: the generated ring is valid and complete, and its dangling
// variant is rejected with a problem per endpoint.
func TestRing(t *testing.T) {
	tp, err := topo.Parse("ring.yaml", ring(100, false))
	if err != nil {
		t.Fatal(err)
	}
	if len(tp.Nodes) != 100 || len(tp.Links) != 100 || len(tp.Layers) != 101 {
		t.Fatalf("%d nodes, %d links, %d layers; want 100, 100, 101", len(tp.Nodes), len(tp.Links), len(tp.Layers))
	}
	net := tp.Layer("net")
	if len(net.Steps) != 100 {
		t.Fatalf("net has %d steps, want 100", len(net.Steps))
	}
	_, err = topo.Parse("ring.yaml", ring(100, true))
	var list topo.ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("err = %v, want an ErrorList", err)
	}
}

// TestMaxErrors: a file with more than MaxErrors problems lists the first
// MaxErrors found and then how many more there are.
func TestMaxErrors(t *testing.T) {
	_, err := topo.Parse("ring.yaml", ring(200, true)) // 800 problems
	var list topo.ErrorList
	if !errors.As(err, &list) || len(list) != topo.MaxErrors+1 {
		t.Fatalf("err = %.300v, want an ErrorList of %d", err, topo.MaxErrors+1)
	}
	for _, e := range list[:topo.MaxErrors] {
		if e.Line == 0 || !strings.Contains(e.Msg, "dangling endpoint") {
			t.Fatalf("problem %v, want a dangling endpoint with its line", e)
		}
	}
	want := fmt.Sprintf("ring.yaml: and 750 more problems (only the first %d are listed)", topo.MaxErrors)
	if got := list[topo.MaxErrors].Error(); got != want {
		t.Errorf("last problem %q, want %q", got, want)
	}
}

// TestTooLarge: a file over MaxFileSize is refused before it is parsed
// (Parse) or read (Load), saying how large it is and what the limit is.
func TestTooLarge(t *testing.T) {
	_, err := topo.Parse("big.yaml", make([]byte, topo.MaxFileSize+1))
	if want := "big.yaml is 16.1 MiB; topology files are limited to 16 MiB"; !errors.Is(err, topo.ErrTooLarge) || !strings.HasPrefix(fmt.Sprint(err), want) {
		t.Errorf("Parse: err = %v, want ErrTooLarge and %q", err, want)
	}
	big := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(big, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(big, 100<<20); err != nil { // sparse: nothing is written
		t.Fatal(err)
	}
	_, err = topo.Load(big)
	if want := big + " is 100 MiB; topology files are limited to 16 MiB"; !errors.Is(err, topo.ErrTooLarge) || !strings.HasPrefix(fmt.Sprint(err), want) {
		t.Errorf("Load: err = %v, want ErrTooLarge and %q", err, want)
	}
}

// TestAliasBudget: aliases that make a small file as long to check as a
// large one are refused.
func TestAliasBudget(t *testing.T) {
	var b strings.Builder
	b.WriteString("name: t\nnodes: {a: {}, b: {}}\nx: &m [a")
	b.WriteString(strings.Repeat(", a", 2000))
	b.WriteString("]\nlayers:\n")
	for i := range 100 {
		fmt.Fprintf(&b, "  l%d: {type: unicast, members: *m}\n", i)
	}
	_, err := topo.Parse("t.yaml", []byte(b.String()))
	if want := "expand the file past"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("err = %.300v, want %q", err, want)
	}
}

// countdown is a context whose Err turns to context.Canceled at its n-th
// call (never, for n 0) and counts its calls.
type countdown struct {
	context.Context
	n, calls int
}

func (c *countdown) Err() error {
	c.calls++
	if c.n > 0 && c.calls >= c.n {
		return context.Canceled
	}
	return nil
}

// TestParseContext: ParseContext asks its context whether it is done
// throughout a parse (about once every thousand tokens or values, and
// between phases) and, once it is, stops at once: cancelled at any of
// those points, it returns context.Canceled and asks no more.
func TestParseContext(t *testing.T) {
	for _, dangling := range []bool{false, true} {
		data := ring(200, dangling)
		all := &countdown{Context: context.Background()}
		if _, err := topo.ParseContext(all, "ring.yaml", data); (err != nil) != dangling {
			t.Fatalf("ParseContext: %.300v", err)
		}
		if per := len(data) / all.calls; per > 4096 {
			t.Errorf("dangling %v: %d checks of the context in %d bytes, one per %d bytes; want one per 4 KiB at least",
				dangling, all.calls, len(data), per)
		}
		for n := 1; n <= all.calls; n += max(1, all.calls/10) {
			ctx := &countdown{Context: context.Background(), n: n}
			tp, err := topo.ParseContext(ctx, "ring.yaml", data)
			if tp != nil || !errors.Is(err, context.Canceled) {
				t.Fatalf("dangling %v, cancelled at check %d: %v, %.300v; want context.Canceled", dangling, n, tp, err)
			}
			if ctx.calls > n+1 {
				t.Errorf("dangling %v, cancelled at check %d: asked %d times more", dangling, n, ctx.calls-n)
			}
		}
	}
}

// TestLoadContextLarge: a 4 MB file, which takes seconds to load, is
// given up within a fraction of one once its context is cancelled, and
// the lexer, which cannot be stopped part way, ends once through the file.
// Not in -short runs or under the race detector: the file takes a while.
// (TestParseContext cancels at every point that checks the context.)
func TestLoadContextLarge(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("a 4 MB file")
	}
	path := filepath.Join(t.TempDir(), "ring.yaml")
	if err := os.WriteFile(path, ring(ringNodes(4<<20), false), 0o644); err != nil {
		t.Fatal(err)
	}
	goroutines := runtime.NumGoroutine()
	for _, after := range []time.Duration{10 * time.Millisecond, 300 * time.Millisecond} {
		ctx, cancel := context.WithTimeout(context.Background(), after)
		start := time.Now()
		_, err := topo.LoadContext(ctx, path)
		took := time.Since(start)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("cancelled after %v: err = %.300v, want context.DeadlineExceeded", after, err)
		}
		// The bound is loose: the run is in the hands of the scheduler.
		if took > after+5*time.Second {
			t.Errorf("cancelled after %v, LoadContext returned after %v", after, took)
		}
		t.Logf("cancelled after %v: returned after %v", after, took)
	}
	if !wait.Until(time.Minute, func() bool { return runtime.NumGoroutine() <= goroutines }) {
		t.Errorf("%d goroutines a minute after LoadContext returned, want %d", runtime.NumGoroutine(), goroutines)
	}
}

// TestLinear: ten times the nodes take about ten times the memory to load,
// valid or with a problem on every link (before topo was made linear, 100
// and 1000 nodes took 15 and 69 times: BenchmarkLoad). Time, which is less
// steady on a busy machine, is in BenchmarkLoad.
func TestLinear(t *testing.T) {
	for _, dangling := range []bool{false, true} {
		allocated := func(n int) uint64 {
			data := ring(n, dangling)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			topo.Parse("ring.yaml", data)
			runtime.ReadMemStats(&after)
			return after.TotalAlloc - before.TotalAlloc
		}
		small, large := allocated(150), allocated(1500)
		if r := float64(large) / float64(small); r > 13 {
			t.Errorf("dangling %v: 10x the nodes allocate %.1fx the memory (%d B, then %d B); want about 10x", dangling, r, small, large)
		}
	}
}

var ringSizes = []struct {
	name string
	n    func() int
}{
	{"n=100", func() int { return 100 }},
	{"n=1000", func() int { return 1000 }},
	{"n=10000", func() int { return 10000 }},
	{"10MB", func() int { return ringNodes(10 << 20) }},
	{"max", maxRing}, // the largest ring under MaxFileSize
}

// maxRing is how many nodes make the largest ring file under MaxFileSize.
func maxRing() int {
	n := ringNodes(topo.MaxFileSize)
	for len(ring(n, false)) > topo.MaxFileSize {
		n -= n / 100
	}
	return n
}

// BenchmarkLoad: Load of ring files of growing size, valid and with a
// dangling endpoint on every link. The cost per node (ns/node, B/node)
// stays about the same from size to size where Load is linear. Run the
// larger ones with
//
//	go test -run '^$' -bench Load -benchtime 1x ./testbed/topo
//
// Before Load was made linear (benchtime 1x, 2 cores): valid, 100 nodes
// 12 ms and 1.75 MB, 1000 nodes 4.0 s and 26.5 MB (cubic: 0.12 ms, then
// 4 ms a node); dangling, 1000 nodes 0.45 s and 145 MB, 10000 nodes 31 s
// and 13.8 GB (quadratic: 0.45 ms and 145 KB, then 3.1 ms and 1.4 MB a
// node). Now 17 to 21 KB a node at every size up to the largest file, and
// 80 to 100 µs of CPU time.
func BenchmarkLoad(b *testing.B) {
	for _, dangling := range []bool{false, true} {
		for _, sz := range ringSizes {
			name := sz.name + "/valid"
			if dangling {
				name = sz.name + "/dangling"
			}
			b.Run(name, func(b *testing.B) {
				n := sz.n()
				data := ring(n, dangling)
				path := filepath.Join(b.TempDir(), "ring.yaml")
				if err := os.WriteFile(path, data, 0o644); err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(len(data)))
				b.ReportAllocs()
				wide := sz.n() > 510 // too wide for any max_ttl: refused at the end
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				for b.Loop() {
					_, err := topo.Load(path)
					if (err != nil) != (dangling || wide) {
						b.Fatalf("Load: %.500v", err)
					}
				}
				runtime.ReadMemStats(&after)
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/node")
				b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N*n), "B/node")
			})
		}
	}
}
