// Package prof writes a CPU profile of a program's run when the
// environment asks for one: OUROBOROS_CPUPROFILE=PATH, where %p in PATH
// becomes the process's PID (so that every onode of a lab, or every tool,
// writes its own). make bench-lab PROFILE=1 uses it.
package prof

import (
	"fmt"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
)

// Env names the variable that asks for a profile.
const Env = "OUROBOROS_CPUPROFILE"

// Start starts the CPU profile if the environment asks for one, and
// returns the function that stops it and writes it out (a no-op
// otherwise). A profile that cannot be started is said on stderr and the
// program goes on without it.
func Start(prog string) (stop func()) {
	path := os.Getenv(Env)
	if path == "" {
		return func() {}
	}
	path = strings.ReplaceAll(path, "%p", strconv.Itoa(os.Getpid()))
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %s: %v (no profile)\n", prog, Env, err)
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
