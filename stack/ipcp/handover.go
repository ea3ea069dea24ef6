package ipcp

import (
	"errors"
	"sync/atomic"
	"time"
)

// Errors of a Port's Attach (HandOver).
var (
	ErrPortAttached   = errors.New("ipcp: the port is attached already")
	ErrPortNotFlushed = errors.New("ipcp: the flow's channel was not flushed in time")
)

// PortFlow is what a lower IPCP keeps for the port of one of its N+1
// flows, as HandOver uses it.
type PortFlow struct {
	Rx       *atomic.Pointer[func([]byte)] // the attached receiver; nil once the flow is released
	Attached *atomic.Bool                  // set once, by HandOver
	Live     func() bool                   // the flow is up
	Flushed  <-chan struct{}               // closed by the IPCP's sender once it sent what the channel held, woken by the deadline
	Gone     <-chan struct{}               // closed when the flow is released
	End      interface{ SetReadDeadline(time.Time) error }
}

// HandOver is a lower IPCP's Port.Attach: it sets rx as the flow's
// receiver, then wakes the IPCP's sender out of its read of the flow's
// channel with a read deadline in the past (a sender that is not reading
// finds it at its next read), and waits until the sender says it has sent
// what the channel held (Flushed), the flow is released (ErrPortClosed),
// stop is closed (stopErr), or timeout has passed (ErrPortNotFlushed; the
// receiver stays: only sending must wait for the flush).
func HandOver(rx func([]byte), f PortFlow, stop <-chan struct{}, stopErr error, timeout time.Duration) error {
	if !f.Attached.CompareAndSwap(false, true) {
		return ErrPortAttached
	}
	if !f.Live() {
		return ErrPortClosed
	}
	f.Rx.Store(&rx)
	select { // released meanwhile: the release may have run before the Store
	case <-f.Gone:
		f.Rx.Store(nil)
		return ErrPortClosed
	default:
	}
	f.End.SetReadDeadline(time.Unix(1, 0))
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-f.Flushed:
		return nil
	case <-f.Gone:
		return ErrPortClosed
	case <-stop:
		return stopErr
	case <-t.C:
		return ErrPortNotFlushed
	}
}
