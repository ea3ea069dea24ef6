// Package prof writes profiles of a program's run when the environment
// asks for them: OUROBOROS_CPUPROFILE=PATH for a CPU profile of the whole
// run, OUROBOROS_HEAPPROFILE=PATH for a heap profile (what stays live
// after a garbage collection) taken when the program is told to stop,
// before it tears anything down. %p in PATH becomes the process's PID (so
// that every onode of a lab, or every tool, writes its own). make
// bench-lab PROFILE=1 uses the CPU profile.
package prof

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
)

// Env names the variable that asks for a CPU profile.
const Env = "OUROBOROS_CPUPROFILE"

// HeapEnv names the variable that asks for a heap profile.
const HeapEnv = "OUROBOROS_HEAPPROFILE"

// heapRate is the sampling rate of a heap profile the environment asks
// for: one sample per 4 KiB allocated, fine enough to see a node's few
// MiB (the runtime's default, 512 KiB, sees only the biggest objects).
const heapRate = 4 << 10

func init() {
	if os.Getenv(HeapEnv) != "" {
		runtime.MemProfileRate = heapRate
	}
}

// Start starts the CPU profile if the environment asks for one, and
// returns the function that stops it and writes it out (a no-op
// otherwise). A profile that cannot be started is said on stderr and the
// program goes on without it.
func Start(prog string) (stop func()) {
	f := create(prog, Env)
	if f == nil {
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %s: %v (no profile)\n", prog, Env, err)
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}

// Heap writes a heap profile if the environment asks for one: the
// objects live after a garbage collection (pprof's inuse_space), and
// what was allocated since the start (alloc_space). Beside it, in
// PATH.txt, the runtime's memory by class (runtime/metrics
// /memory/classes/..., before that collection): what the process's
// anonymous memory is made of; and in PATH.goroutines its goroutines
// (each has a stack of 8 KiB or more). A program calls it when it is
// about to stop, before its teardown frees what it held.
func Heap(prog string) {
	f := create(prog, HeapEnv)
	if f == nil {
		return
	}
	defer f.Close()
	if t, err := os.Create(f.Name() + ".txt"); err == nil {
		writeClasses(t)
		t.Close()
	}
	if g, err := os.Create(f.Name() + ".goroutines"); err == nil {
		pprof.Lookup("goroutine").WriteTo(g, 1)
		g.Close()
	}
	runtime.GC()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %s: %v (no profile)\n", prog, HeapEnv, err)
	}
}

// writeClasses writes every /memory/classes/ metric, in KiB.
func writeClasses(w io.Writer) {
	var samples []metrics.Sample
	for _, d := range metrics.All() {
		if strings.HasPrefix(d.Name, "/memory/classes/") {
			samples = append(samples, metrics.Sample{Name: d.Name})
		}
	}
	metrics.Read(samples)
	for _, s := range samples {
		if s.Value.Kind() == metrics.KindUint64 {
			fmt.Fprintf(w, "%-50s %8d KiB\n", s.Name, s.Value.Uint64()>>10)
		}
	}
}

// create opens the file the variable env names, or returns nil (said on
// stderr when the file cannot be made).
func create(prog, env string) *os.File {
	path := os.Getenv(env)
	if path == "" {
		return nil
	}
	path = strings.ReplaceAll(path, "%p", strconv.Itoa(os.Getpid()))
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %s: %v (no profile)\n", prog, env, err)
		return nil
	}
	return f
}
