package irm

import (
	"context"
	"errors"
	"testing"
	"time"

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
	for deadline := time.Now().Add(5 * time.Second); ; {
		n.mu.Lock()
		k := len(n.procs[pid].accepts)
		n.mu.Unlock()
		if k == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d accepts pending, want 2", k)
		}
		time.Sleep(time.Millisecond)
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
