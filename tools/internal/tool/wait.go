package tool

import (
	"context"
	"time"
)

// Sleep waits d or until ctx ends.
func Sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// waitDeadline gives the waits of a loop a deadline at most max away. One
// deadline serves every wait until it passes, so a wait does not cost a
// new context.
type waitDeadline struct {
	max    time.Duration
	ctx    context.Context
	cancel context.CancelFunc
}

func (w *waitDeadline) next(parent context.Context) context.Context {
	if w.ctx == nil || w.ctx.Err() != nil {
		w.stop()
		w.ctx, w.cancel = context.WithTimeout(parent, w.max)
	}
	return w.ctx
}

func (w *waitDeadline) stop() {
	if w.cancel != nil {
		w.cancel()
	}
}
