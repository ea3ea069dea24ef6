package tool

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/o7s/ouroboros/stack/dev"
	"github.com/o7s/ouroboros/tools/internal/toolio"
)

// Server timing, as the reference's.
const (
	waitTimeout  = 100 * time.Millisecond // one wait on the event set
	drainPerWake = 64                     // SDUs read from one flow per event
	acceptRetry  = 100 * time.Millisecond // after a failed accept
)

// Handler is a tool's part in a Server: what it does with the flows the
// server accepts and reads. P is what the tool keeps for each flow.
type Handler[P any] interface {
	// Accepted takes a flow just accepted and announced ("New flow
	// <fd>."). It runs on the accepting goroutine, so what may block
	// belongs on a goroutine started with Server.Go. It puts the flow
	// under service with Server.Add, or closes it.
	Accepted(ctx context.Context, f *dev.Flow)
	// AcceptFailed prints that an accept failed; the server tries again
	// unless the node is gone.
	AcceptFailed(err error)
	// Packet takes one SDU read from p's flow; false stops the reading of
	// that flow until its next event (the tool dropped it).
	Packet(p P, b []byte) bool
	// Clean drops the flows that were idle too long. It runs on a
	// goroutine of its own, once every cleaning period.
	Clean()
	// Drop takes p's flow out of service (Server.Remove) and deallocates
	// it: its peer is gone, the event set refused it, or the server stops.
	Drop(p P)
}

// Server is the reference's event-set server, the one of oping and operf:
// a goroutine accepts flows, another has the idle ones cleaned out, and
// the serving goroutine waits on the event set, at most 100 ms at a time,
// and reads every flow with an event, up to 64 SDUs each. Polling, it
// reads every flow in turn and never waits.
type Server[P any] struct {
	c   *dev.Client
	p   *toolio.Printer
	h   Handler[P]
	set *dev.EventSet
	wg  sync.WaitGroup // the accept loop, the cleaner and what they start

	mu    sync.Mutex // guards flows
	flows map[*dev.Flow]P
	gen   atomic.Uint64 // counts changes to flows, for pollLoop

	// Owned by the serving goroutine.
	buf []byte
	evs []dev.Event
}

// NewServer returns a server of the flows accepted on c, printing on p.
func NewServer[P any](c *dev.Client, p *toolio.Printer, h Handler[P]) (*Server[P], error) {
	set, err := dev.NewEventSet()
	if err != nil {
		return nil, err
	}
	return &Server[P]{c: c, p: p, h: h, set: set, flows: make(map[*dev.Flow]P),
		buf: make([]byte, dev.MaxSDU), evs: make([]dev.Event, 64)}, nil
}

// Run serves until ctx ends (nil), or the node is gone or a wait fails
// (the error); then it drops every flow left and closes the event set.
// The handler cleans every cleanEvery. Run runs once.
func (s *Server[P]) Run(ctx context.Context, cleanEvery time.Duration, poll bool) error {
	ctx, cancel := context.WithCancelCause(ctx)
	s.wg.Go(func() { s.acceptLoop(ctx, cancel) })
	s.wg.Go(func() { s.cleaner(ctx, cleanEvery) })
	var err error
	if poll {
		s.pollLoop(ctx)
	} else {
		err = s.waitLoop(ctx)
	}
	cancel(err)
	s.wg.Wait()
	for _, p := range s.Flows(nil, nil) {
		s.h.Drop(p)
	}
	s.set.Close()
	if err := context.Cause(ctx); !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// Go runs fn on a goroutine of its own, which Run waits for. Only the
// handler calls it, from Accepted or from a goroutine Go started.
func (s *Server[P]) Go(fn func()) { s.wg.Go(fn) }

// Add puts f under service, keeping p for it. When the event set refuses
// f, Add prints so and has p dropped.
func (s *Server[P]) Add(f *dev.Flow, p P) {
	s.mu.Lock()
	s.flows[f] = p
	s.gen.Add(1)
	s.mu.Unlock()
	if err := s.set.Add(f); err != nil {
		s.p.Printf("Failed to add flow %d to the event set: %v.\n", f.FD(), err)
		s.h.Drop(p)
	}
}

// Remove takes f out of service. It reports whether f was in, so that of
// all who drop a flow only the first deallocates it.
func (s *Server[P]) Remove(f *dev.Flow) bool {
	s.mu.Lock()
	_, ok := s.flows[f]
	delete(s.flows, f)
	s.gen.Add(1)
	s.mu.Unlock()
	return ok
}

// Flows appends to dst what is kept for the flows in service, or for those
// keep accepts if keep is set; keep runs with the flows locked.
func (s *Server[P]) Flows(dst []P, keep func(P) bool) []P {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.flows {
		if keep == nil || keep(p) {
			dst = append(dst, p)
		}
	}
	return dst
}

func (s *Server[P]) lookup(f *dev.Flow) (P, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.flows[f]
	return p, ok
}

// acceptLoop accepts flows until ctx ends. A node that is gone ends the
// server (through cancel); other failures are printed and retried.
func (s *Server[P]) acceptLoop(ctx context.Context, cancel context.CancelCauseFunc) {
	for {
		f, err := s.c.Accept(ctx)
		if ctx.Err() != nil {
			if f != nil {
				f.Close()
			}
			return
		}
		if err != nil {
			s.h.AcceptFailed(err)
			if errors.Is(err, dev.ErrNode) {
				cancel(fmt.Errorf("accept: %w", err))
				return
			}
			Sleep(ctx, acceptRetry)
			continue
		}
		s.p.Printf("New flow %d.\n", f.FD())
		s.h.Accepted(ctx, f)
	}
}

// cleaner has the handler clean every period until ctx ends.
func (s *Server[P]) cleaner(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.h.Clean()
		}
	}
}

// waitLoop is the reference's event loop: wait on the set, at most
// waitTimeout at a time, then serve every flow with an event.
func (s *Server[P]) waitLoop(ctx context.Context) error {
	wd := waitDeadline{max: waitTimeout}
	defer wd.stop()
	for ctx.Err() == nil {
		n, err := s.set.Wait(wd.next(ctx), s.evs)
		if err != nil {
			// A wait that ends at its deadline can also report the
			// deadline's context.DeadlineExceeded.
			if errors.Is(err, dev.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
				continue
			}
			s.p.Printf("Failed to wait for events: %v.\n", err)
			return fmt.Errorf("wait for events: %w", err)
		}
		for _, ev := range s.evs[:n] {
			if p, ok := s.lookup(ev.Flow); ok {
				s.serve(ev.Flow, p)
			}
		}
	}
	return nil
}

// pollLoop serves every flow in turn with non-blocking reads, never
// sleeping.
func (s *Server[P]) pollLoop(ctx context.Context) {
	type entry struct {
		f *dev.Flow
		p P
	}
	var es []entry
	var gen uint64
	for ctx.Err() == nil {
		if g := s.gen.Load(); g != gen {
			gen = g
			es = es[:0]
			s.mu.Lock()
			for f, p := range s.flows {
				es = append(es, entry{f, p})
			}
			s.mu.Unlock()
		}
		for _, e := range es {
			s.serve(e.f, e.p)
		}
		runtime.Gosched()
	}
}

// serve reads what f has ready, up to drainPerWake SDUs, and hands them to
// the handler.
func (s *Server[P]) serve(f *dev.Flow, p P) {
	for range drainPerWake {
		n, err := f.Read(s.buf)
		switch {
		case err == nil:
		case errors.Is(err, dev.ErrWouldBlock):
			return
		case errors.Is(err, dev.ErrFlowDown), errors.Is(err, dev.ErrFlowClosed):
			s.h.Drop(p)
			return
		default:
			continue
		}
		if !s.h.Packet(p, s.buf[:n]) {
			return
		}
	}
}
