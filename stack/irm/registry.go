package irm

import (
	"slices"

	"github.com/o7s/ouroboros/stack/ctl"
)

// name is a registry name: who serves it and who is accepting for it now.
type name struct {
	name     string
	lb       ctl.LB
	progs    []string   // bound programs (keys of Node.progs)
	procs    []int      // bound processes
	autoExec [][]string // argv of programs to start on demand, newest first
	active   []*flow    // pending accepts, the head gets the next request
	sencPath string     // the server side's enc.conf; empty: the default
	cencPath string     // the client side's enc.conf; empty: the default
	scrtPath string     // the server side's certificate and key; empty: the default
	skeyPath string
	ccrtPath string // the client side's
	ckeyPath string
}

// program is a bound executable, keyed by its basename.
type program struct {
	name  string
	path  string
	names []string
}

// process is an announced process.
type process struct {
	pid      int
	prog     string
	uid, gid int
	names    []string
	accepts  []*flow // its pending accepts
	sessions int     // open sessions (a process may attach more than once)
}

// addActive puts an accept at the place the name's policy says.
func (nm *name) addActive(f *flow) {
	if slices.Contains(nm.active, f) {
		return
	}
	if nm.lb == ctl.Spillover {
		nm.active = slices.Insert(nm.active, 0, f)
	} else {
		nm.active = append(nm.active, f)
	}
}

func (nm *name) delActive(f *flow) {
	nm.active = slices.DeleteFunc(nm.active, func(g *flow) bool { return g == f })
}

// serves tells whether anything on this system answers for the name.
func (nm *name) serves() bool {
	return len(nm.active) > 0 || len(nm.procs) > 0 || len(nm.autoExec) > 0 || len(nm.progs) > 0
}

func remove[T comparable](s []T, v T) []T {
	return slices.DeleteFunc(s, func(x T) bool { return x == v })
}
