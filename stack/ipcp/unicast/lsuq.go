package unicast

import "sync"

// lsuQueue is a management flow's queue of LSUs for its writer, oldest
// first. It holds memory only for what waits: a burst (the whole LSDB to
// a new neighbour) grows it up to mgmtQueue LSUs, and the writer lets the
// grown slice go once it has sent the burst, so an idle adjacency keeps
// next to nothing (a channel of mgmtQueue slices would hold 384 KiB for
// each adjacency, from its start). LSUs are management traffic, never
// the data path.
type lsuQueue struct {
	mu   sync.Mutex
	q    [][]byte      // waiting, oldest first
	wake chan struct{} // capacity 1: q went from empty to not empty
}

// lsuKeep is the capacity of the slice the writer keeps between bursts;
// a larger one, grown by a burst, goes back to the garbage collector.
const lsuKeep = 16

func newLSUQueue() *lsuQueue { return &lsuQueue{wake: make(chan struct{}, 1)} }

// push queues b and says whether it could: with mgmtQueue LSUs waiting,
// b is dropped.
func (q *lsuQueue) push(b []byte) bool {
	q.mu.Lock()
	if len(q.q) >= mgmtQueue {
		q.mu.Unlock()
		return false
	}
	q.q = append(q.q, b)
	first := len(q.q) == 1
	q.mu.Unlock()
	if first {
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
	return true
}

// take returns every LSU waiting, oldest first, and leaves spare (emptied)
// in their place, so that the writer and the senders swap two slices.
func (q *lsuQueue) take(spare [][]byte) [][]byte {
	q.mu.Lock()
	out := q.q
	q.q = spare[:0]
	q.mu.Unlock()
	return out
}

// pop returns the oldest LSU waiting, or nil (for tests).
func (q *lsuQueue) pop() []byte {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.q) == 0 {
		return nil
	}
	b := q.q[0]
	q.q = q.q[1:]
	return b
}
