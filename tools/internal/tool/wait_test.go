package tool

import (
	"context"
	"testing"
	"time"
)

func TestSleep(t *testing.T) {
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name     string
		ctx      context.Context
		d        time.Duration
		min, max time.Duration
	}{
		{"waits d", context.Background(), 30 * time.Millisecond, 30 * time.Millisecond, 5 * time.Second},
		{"ends with ctx", ended, time.Hour, 0, 5 * time.Second},
	} {
		start := time.Now()
		Sleep(tc.ctx, tc.d)
		if took := time.Since(start); took < tc.min || took > tc.max {
			t.Errorf("%s: Sleep took %v, want [%v, %v]", tc.name, took, tc.min, tc.max)
		}
	}
}

func TestWaitDeadline(t *testing.T) {
	const max = 40 * time.Millisecond
	parent, cancel := context.WithCancel(context.Background())
	wd := waitDeadline{max: max}
	defer wd.stop()
	first := wd.next(parent)
	d, ok := first.Deadline()
	if !ok || time.Until(d) > max {
		t.Fatalf("deadline %v away (set %v), want at most %v", time.Until(d), ok, max)
	}
	if wd.next(parent) != first {
		t.Error("a wait before the deadline got a new context")
	}
	<-first.Done()
	second := wd.next(parent)
	if second == first || second.Err() != nil {
		t.Errorf("after the deadline: the same context %v, or one that is done: %v", second == first, second.Err())
	}
	cancel()
	if second.Err() == nil {
		t.Error("the wait's context outlives its parent")
	}
	wd.stop()
	if wd.next(context.Background()).Err() != nil {
		t.Error("after stop, next gives a context that is done")
	}
}
