// Package wait is the one polling helper of the tests: they wait for a
// condition to hold, with a deadline, rather than sleep for a fixed time
// and hope it holds by then.
//
// Use it where the code under test offers no event to wait on (a counter,
// a table that empties, a goroutine that exits); where it offers a channel
// or a callback, wait on that instead.
package wait

import (
	"testing"
	"time"
)

// Timeout is how long For waits.
const Timeout = 5 * time.Second

// Until polls cond until it holds or timeout passes, and reports whether it
// held. It checks at once, then at intervals growing from 1 ms to 10 ms, so
// a condition about to hold is seen quickly and a slow one costs little.
func Until(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for d := time.Millisecond; !cond(); d = min(2*d, 10*time.Millisecond) {
		if time.Now().After(deadline) {
			return cond()
		}
		time.Sleep(d)
	}
	return true
}

// For polls cond until it holds, and fails t if it does not within
// Timeout: "timed out waiting for " what.
func For(t testing.TB, what string, cond func() bool) {
	t.Helper()
	if !Until(Timeout, cond) {
		t.Fatalf("timed out waiting for %s", what)
	}
}
