package unicast

import (
	"bytes"
	"fmt"
	"testing"
)

// TestLSUQueue: LSUs come out in order; past mgmtQueue waiting they are
// dropped; take swaps in the spare slice and the queue starts empty
// again; one wake-up stands for what was pushed since the last take.
func TestLSUQueue(t *testing.T) {
	q := newLSUQueue()
	for i := range mgmtQueue {
		if !q.push([]byte(fmt.Sprint(i))) {
			t.Fatalf("LSU %d dropped below the bound", i)
		}
	}
	if q.push([]byte("over")) {
		t.Fatal("LSU past the bound queued")
	}
	if len(q.wake) != 1 {
		t.Fatalf("%d wake-ups queued, want 1", len(q.wake))
	}
	<-q.wake
	spare := make([][]byte, 0, lsuKeep)
	got := q.take(spare)
	if len(got) != mgmtQueue || !bytes.Equal(got[0], []byte("0")) || !bytes.Equal(got[mgmtQueue-1], []byte(fmt.Sprint(mgmtQueue-1))) {
		t.Fatalf("took %d LSUs (%q first), want %d in order", len(got), got[0], mgmtQueue)
	}
	if q.pop() != nil || cap(q.q) != lsuKeep {
		t.Fatal("the queue is not empty on the spare slice after take")
	}
	q.push([]byte("a"))
	q.push([]byte("b"))
	if len(q.wake) != 1 {
		t.Fatalf("%d wake-ups queued after two pushes, want 1", len(q.wake))
	}
	if b := q.pop(); !bytes.Equal(b, []byte("a")) {
		t.Fatalf("pop = %q, want a", b)
	}
}
