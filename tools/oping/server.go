package oping

import (
	"github.com/o7s/ouroboros/tools/internal/toolio"

	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/o7s/ouroboros/stack/dev"
	"github.com/o7s/ouroboros/stack/errs"
)

// Server timing, as the reference's.
const (
	waitTimeout  = 100 * time.Millisecond // one wait on the event set
	cleanEvery   = time.Second
	idleLimit    = 10 * time.Second
	drainPerWake = 64 // SDUs read from one flow per event
	acceptRetry  = 100 * time.Millisecond
	// writeTimeout bounds how long a client that does not read its
	// replies can hold up the server, which serves every flow in turn.
	writeTimeout = time.Second
)

// Serve runs the oping server on c until ctx ends: it accepts flows,
// echoes every request with the type set to reply, and drops flows whose
// peer is gone or that were silent for 10 s. With cfg.Busy it serves a
// single flow and returns when that flow ends.
func Serve(ctx context.Context, cfg Config, c *dev.Client, out io.Writer) error {
	p := toolio.NewPrinter(out)
	defer p.Close()
	if cfg.Busy {
		return serveBusy(ctx, c, p)
	}
	s, err := newServer(cfg, c, p)
	if err != nil {
		return err
	}
	return s.run(ctx)
}

// peer is a flow the server serves.
type peer struct {
	f    *dev.Flow
	last atomic.Int64 // monoNow of the last request
}

type server struct {
	cfg        Config
	c          *dev.Client
	p          *toolio.Printer
	set        *dev.EventSet
	idle       time.Duration // a flow silent this long is dropped
	cleanEvery time.Duration

	mu    sync.Mutex // guards flows
	flows map[*dev.Flow]*peer
	gen   atomic.Uint64 // counts changes to flows, for pollLoop

	// Owned by the serving goroutine.
	buf  []byte
	line []byte
	evs  []dev.Event
}

func newServer(cfg Config, c *dev.Client, p *toolio.Printer) (*server, error) {
	set, err := dev.NewEventSet()
	if err != nil {
		return nil, err
	}
	return &server{cfg: cfg, c: c, p: p, set: set, idle: idleLimit, cleanEvery: cleanEvery, flows: make(map[*dev.Flow]*peer),
		buf: make([]byte, dev.MaxSDU), evs: make([]dev.Event, 64)}, nil
}

func (s *server) run(ctx context.Context) error {
	s.p.Printf("Ouroboros ping server started.\n")
	ctx, cancel := context.WithCancelCause(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { s.acceptLoop(ctx, cancel) })
	wg.Go(func() { s.cleaner(ctx) })
	var err error
	if s.cfg.Poll {
		s.pollLoop(ctx)
	} else {
		err = s.waitLoop(ctx)
	}
	cancel(err)
	wg.Wait()
	s.mu.Lock()
	pes := make([]*peer, 0, len(s.flows))
	for _, pe := range s.flows {
		pes = append(pes, pe)
	}
	s.mu.Unlock()
	for _, pe := range pes {
		s.drop(pe)
	}
	s.set.Close()
	if err := context.Cause(ctx); !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// acceptLoop accepts flows until ctx ends. A node that is gone ends the
// server (through cancel); other failures are printed and retried.
func (s *server) acceptLoop(ctx context.Context, cancel context.CancelCauseFunc) {
	for {
		f, err := s.c.Accept(ctx)
		if ctx.Err() != nil {
			if f != nil {
				f.Close()
			}
			return
		}
		if err != nil {
			s.p.Printf("Failed to accept flow: %d \n", errs.Code(err))
			if errors.Is(err, dev.ErrNode) {
				cancel(fmt.Errorf("accept: %w", err))
				return
			}
			sleep(ctx, acceptRetry)
			continue
		}
		s.p.Printf("New flow %d.\n", f.FD())
		s.add(f)
	}
}

func (s *server) add(f *dev.Flow) {
	f.SetFlags(dev.FlagRNoBlock | dev.FlagRdWr | dev.FlagRNoPart)
	f.SetWriteTimeout(writeTimeout)
	pe := &peer{f: f}
	pe.last.Store(monoNow())
	s.mu.Lock()
	s.flows[f] = pe
	s.gen.Add(1)
	s.mu.Unlock()
	if err := s.set.Add(f); err != nil {
		s.p.Printf("Failed to add flow %d to the event set: %v.\n", f.FD(), err)
		s.drop(pe)
	}
}

// drop forgets a flow and deallocates it; only the first caller does.
func (s *server) drop(pe *peer) bool {
	s.mu.Lock()
	_, ok := s.flows[pe.f]
	delete(s.flows, pe.f)
	s.gen.Add(1)
	s.mu.Unlock()
	if ok {
		pe.f.Close()
	}
	return ok
}

func (s *server) lookup(f *dev.Flow) *peer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.flows[f]
}

// cleaner drops the flows that were silent longer than s.idle.
func (s *server) cleaner(ctx context.Context) {
	t := time.NewTicker(s.cleanEvery)
	defer t.Stop()
	var idle []*peer
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := monoNow()
		idle = idle[:0]
		s.mu.Lock()
		for _, pe := range s.flows {
			if time.Duration(now-pe.last.Load()) > s.idle {
				idle = append(idle, pe)
			}
		}
		s.mu.Unlock()
		for _, pe := range idle {
			fd := pe.f.FD()
			if s.drop(pe) {
				s.p.Printf("Flow %d timed out.\n", fd)
			}
		}
	}
}

// waitLoop is the reference's event loop: wait on the set, at most 100 ms
// at a time, then serve every flow with an event.
func (s *server) waitLoop(ctx context.Context) error {
	var wd waitDeadline
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
			if pe := s.lookup(ev.Flow); pe != nil {
				s.serve(pe)
			}
		}
	}
	return nil
}

// waitDeadline gives the waits of a loop a deadline at most waitTimeout
// away. One deadline serves every wait until it passes, so a wait does not
// cost a new context.
type waitDeadline struct {
	ctx    context.Context
	cancel context.CancelFunc
}

func (w *waitDeadline) next(parent context.Context) context.Context {
	if w.ctx == nil || w.ctx.Err() != nil {
		w.stop()
		w.ctx, w.cancel = context.WithTimeout(parent, waitTimeout)
	}
	return w.ctx
}

func (w *waitDeadline) stop() {
	if w.cancel != nil {
		w.cancel()
	}
}

// pollLoop serves every flow in turn with non-blocking reads, never
// sleeping (--poll).
func (s *server) pollLoop(ctx context.Context) {
	var pes []*peer
	var gen uint64
	for ctx.Err() == nil {
		if g := s.gen.Load(); g != gen {
			gen = g
			pes = pes[:0]
			s.mu.Lock()
			for _, pe := range s.flows {
				pes = append(pes, pe)
			}
			s.mu.Unlock()
		}
		for _, pe := range pes {
			s.serve(pe)
		}
		runtime.Gosched()
	}
}

// serve reads what a flow has ready, up to drainPerWake SDUs, and echoes
// the requests.
func (s *server) serve(pe *peer) {
	for range drainPerWake {
		n, err := pe.f.Read(s.buf)
		switch {
		case err == nil:
		case errors.Is(err, dev.ErrWouldBlock):
			return
		case errors.Is(err, dev.ErrFlowDown), errors.Is(err, dev.ErrFlowClosed):
			s.drop(pe)
			return
		default:
			continue
		}
		s.echo(pe, s.buf[:n])
	}
}

func (s *server) echo(pe *peer, b []byte) {
	fd := pe.f.FD()
	if !s.cfg.Quiet {
		s.line = append(s.line[:0], "Received "...)
		s.line = strconv.AppendInt(s.line, int64(len(b)), 10)
		s.line = append(s.line, " bytes on fd "...)
		s.line = strconv.AppendInt(s.line, int64(fd), 10)
		s.line = append(s.line, ".\n"...)
		s.p.Write(s.line)
	}
	h, err := ParseHeader(b)
	if err != nil || h.Type() != EchoRequest {
		s.p.Printf("Invalid message on fd %d.\n", fd)
		return
	}
	pe.last.Store(monoNow())
	h.SetType(EchoReply)
	if _, err := pe.f.Write(b); err != nil {
		s.p.Printf("Error writing to flow (fd %d).\n", fd)
	}
}

// serveBusy accepts a single flow and serves it with non-blocking reads in
// a busy loop until it ends or ctx does (--busy).
func serveBusy(ctx context.Context, c *dev.Client, p *toolio.Printer) error {
	p.Printf("Ouroboros ping server started. [busy-poll]\n")
	f, err := c.Accept(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		p.Printf("Failed to accept flow.\n")
		return err
	}
	defer f.Close()
	p.Printf("New flow %d (busy-poll).\n", f.FD())
	f.SetFlags(dev.FlagRNoBlock | dev.FlagRdWr | dev.FlagRNoPart)
	var stop atomic.Bool
	defer context.AfterFunc(ctx, func() { stop.Store(true) })()
	buf := make([]byte, dev.MaxSDU)
	for !stop.Load() {
		n, err := f.Read(buf)
		if errors.Is(err, dev.ErrWouldBlock) {
			continue
		}
		if err != nil {
			break
		}
		h, err := ParseHeader(buf[:n])
		if err != nil || h.Type() != EchoRequest {
			continue
		}
		h.SetType(EchoReply)
		f.Write(buf[:n])
	}
	return nil
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
