package toolio

import (
	"errors"
	"sync"
	"time"

	"github.com/o7s/ouroboros/stack/dev"
)

// ErrWoken is what a read returns when another goroutine woke it.
var ErrWoken = errors.New("read interrupted")

// Waker reads a flow with a timeout per read and lets another goroutine
// interrupt a read, blocked or about to block, without racing the deadline
// each read sets: the wake is remembered until a read consumes it.
type Waker struct {
	f       *dev.Flow
	mu      sync.Mutex // guards pending and the flow's read deadline
	pending bool
}

// Wake interrupts the read under way, or the next one.
func (w *Waker) Wake() {
	w.mu.Lock()
	w.pending = true
	w.f.SetReadDeadline(time.Unix(1, 0))
	w.mu.Unlock()
}

// Read reads one SDU, waiting at most timeout (0: no limit). It returns
// ErrWoken once for every wake.
func (w *Waker) Read(b []byte, timeout time.Duration) (int, error) {
	w.mu.Lock()
	if w.pending {
		w.pending = false
		w.mu.Unlock()
		return 0, ErrWoken
	}
	var d time.Time
	if timeout > 0 {
		d = time.Now().Add(timeout)
	}
	w.f.SetReadDeadline(d)
	w.mu.Unlock()
	n, err := w.f.Read(b)
	if err != nil && errors.Is(err, dev.ErrTimeout) {
		w.mu.Lock()
		woken := w.pending
		w.pending = false
		w.mu.Unlock()
		if woken {
			return 0, ErrWoken
		}
	}
	return n, err
}

// NewWaker returns a waker for reads of f.
func NewWaker(f *dev.Flow) *Waker { return &Waker{f: f} }
