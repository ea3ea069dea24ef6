package operf

import (
	"errors"
	"sync"
	"time"

	"github.com/o7s/ouroboros/stack/dev"
)

// errWoken is what a read returns when another goroutine woke it.
var errWoken = errors.New("operf: read interrupted")

// waker reads a flow with a timeout per read and lets another goroutine
// interrupt a read, blocked or about to block, without racing the deadline
// each read sets: the wake is remembered until a read consumes it.
type waker struct {
	f       *dev.Flow
	mu      sync.Mutex // guards pending and the flow's read deadline
	pending bool
}

func (w *waker) wake() {
	w.mu.Lock()
	w.pending = true
	w.f.SetReadDeadline(time.Unix(1, 0))
	w.mu.Unlock()
}

// read reads one SDU, waiting at most timeout (0: no limit). It returns
// errWoken once for every wake.
func (w *waker) read(b []byte, timeout time.Duration) (int, error) {
	w.mu.Lock()
	if w.pending {
		w.pending = false
		w.mu.Unlock()
		return 0, errWoken
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
			return 0, errWoken
		}
	}
	return n, err
}
