package main

import (
	"runtime/debug"
	"testing"
)

// TestGCDefaults: onode sets its collector target when the environment
// tunes neither GOGC nor GOMEMLIMIT, and leaves the runtime's otherwise.
func TestGCDefaults(t *testing.T) {
	old := debug.SetGCPercent(100)
	defer debug.SetGCPercent(old)
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	for _, c := range []struct {
		env  map[string]string
		want int // the collector's target after gcDefaults
	}{
		{nil, gcPercent},
		{map[string]string{"GOGC": "200"}, 100},
		{map[string]string{"GOGC": "off"}, 100},
		{map[string]string{"GOMEMLIMIT": "64MiB"}, 100},
	} {
		debug.SetGCPercent(100)
		gcDefaults(env(c.env))
		if got := debug.SetGCPercent(100); got != c.want {
			t.Errorf("environment %v: GC target %d, want %d", c.env, got, c.want)
		}
	}
}
