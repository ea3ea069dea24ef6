package wait

import (
	"testing"
	"time"
)

func TestUntil(t *testing.T) {
	if !Until(time.Second, func() bool { return true }) {
		t.Error("a condition that holds at once was not seen")
	}
	n := 0
	if !Until(time.Second, func() bool { n++; return n == 5 }) || n != 5 {
		t.Errorf("a condition that holds at the 5th check: seen after %d checks", n)
	}
	start := time.Now()
	if Until(20*time.Millisecond, func() bool { return false }) {
		t.Error("a condition that never holds was reported to hold")
	}
	if d := time.Since(start); d < 20*time.Millisecond || d > time.Second {
		t.Errorf("gave up after %v, want about 20ms", d)
	}
}
