package irm

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/o7s/ouroboros/internal/wait"
	"github.com/o7s/ouroboros/stack/ctl"
	"github.com/o7s/ouroboros/stack/errs"
)

// TestGoneWithTwoAccepts: a process that goes away with two accepts
// pending gets both ended, and the node stays usable (it used to walk the
// list of accepts while deleting from it, and hang on its own lock).
func TestGoneWithTwoAccepts(t *testing.T) {
	n := New(Config{})
	defer n.Close()
	const pid = 4242
	if _, err := n.announce(ctl.Cred{PID: pid}, "server"); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 2)
	for range 2 {
		go func() {
			_, _, err := n.Accept(context.Background(), pid, 0)
			errc <- err
		}()
	}
	pending := func() int {
		n.mu.Lock()
		defer n.mu.Unlock()
		return len(n.procs[pid].accepts)
	}
	if !wait.Until(5*time.Second, func() bool { return pending() == 2 }) {
		t.Fatalf("%d accepts pending, want 2", pending())
	}
	gone := make(chan struct{})
	go func() { n.ProcessGone(pid); close(gone) }()
	select {
	case <-gone:
	case <-time.After(5 * time.Second):
		t.Fatal("ProcessGone did not return")
	}
	for range 2 {
		select {
		case err := <-errc:
			if !errors.Is(err, errs.ErrFlowDown) {
				t.Errorf("accept ended with %v, want %v", err, errs.ErrFlowDown)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("an accept is still waiting")
		}
	}
}
