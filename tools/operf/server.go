package operf

import (
	"github.com/o7s/ouroboros/tools/internal/toolio"

	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/o7s/ouroboros/stack/dev"
)

// Server timing.
const (
	waitTimeout   = 100 * time.Millisecond // one wait on the event set
	cleanEvery    = time.Second
	idleLimit     = time.Second     // a flow silent longer is dropped
	configTimeout = 5 * time.Second // for the configuration message
	drainPerWake  = 64              // SDUs read from one flow per event
	acceptRetry   = 100 * time.Millisecond
	// writeTimeout bounds how long a bi client that does not read can
	// hold up the server, which serves every flow in turn.
	writeTimeout = time.Second
)

// Serve runs the operf server on c until ctx ends: it accepts flows, reads
// each one's configuration, then counts (uni) or echoes (bi) its packets,
// and drops flows whose peer is gone or that were silent for a second,
// printing a summary line for each.
func Serve(ctx context.Context, cfg Config, c *dev.Client, out io.Writer) error {
	p := toolio.NewPrinter(out)
	defer p.Close()
	s, err := newServer(cfg, c, p)
	if err != nil {
		return err
	}
	return s.run(ctx)
}

// peer is a flow under test. The counters are written by the serving
// goroutine and read by whoever drops the flow.
type peer struct {
	f     *dev.Flow
	test  Test
	added time.Duration // since the server's epoch
	n     atomic.Uint64 // data packets
	bytes atomic.Uint64
	first atomic.Int64 // since the epoch, of the first and the last packet
	last  atomic.Int64
}

type server struct {
	cfg        Config
	c          *dev.Client
	p          *toolio.Printer
	set        *dev.EventSet
	epoch      time.Time
	idle       time.Duration
	cleanEvery time.Duration
	rx         atomic.Uint64 // packets received on every flow (for benchmarks)

	mu    sync.Mutex // guards flows
	flows map[*dev.Flow]*peer

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
	return &server{cfg: cfg, c: c, p: p, set: set, epoch: time.Now(), idle: idleLimit, cleanEvery: cleanEvery,
		flows: make(map[*dev.Flow]*peer), buf: make([]byte, dev.MaxSDU), evs: make([]dev.Event, 64)}, nil
}

func (s *server) run(ctx context.Context) error {
	s.p.Printf("Ouroboros perf server started.\n")
	ctx, cancel := context.WithCancelCause(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { s.acceptLoop(ctx, cancel, &wg) })
	wg.Go(func() { s.cleaner(ctx) })
	cancel(s.waitLoop(ctx))
	wg.Wait()
	s.mu.Lock()
	pes := make([]*peer, 0, len(s.flows))
	for _, pe := range s.flows {
		pes = append(pes, pe)
	}
	s.mu.Unlock()
	for _, pe := range pes {
		s.drop(pe, "")
	}
	s.set.Close()
	if err := context.Cause(ctx); !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

func (s *server) since() time.Duration { return time.Since(s.epoch) }

// acceptLoop accepts flows until ctx ends and reads each one's
// configuration in a goroutine of its own, so a slow client holds up
// nobody. A node that is gone ends the server (through cancel).
func (s *server) acceptLoop(ctx context.Context, cancel context.CancelCauseFunc, wg *sync.WaitGroup) {
	for {
		f, err := s.c.Accept(ctx)
		if ctx.Err() != nil {
			if f != nil {
				f.Close()
			}
			return
		}
		if err != nil {
			s.p.Printf("Failed to accept flow.\n")
			if errors.Is(err, dev.ErrNode) {
				cancel(fmt.Errorf("accept: %w", err))
				return
			}
			sleep(ctx, acceptRetry)
			continue
		}
		s.p.Printf("New flow %d.\n", f.FD())
		wg.Go(func() { s.configure(ctx, f) })
	}
}

// configure reads the configuration message, which must be exactly
// ConfigLen bytes, and puts the flow under test.
func (s *server) configure(ctx context.Context, f *dev.Flow) {
	f.SetFlags(dev.FlagRdWr | dev.FlagRNoPart)
	f.SetReadDeadline(time.Now().Add(configTimeout))
	stop := context.AfterFunc(ctx, func() { f.SetReadDeadline(time.Unix(1, 0)) })
	var b [2 * ConfigLen]byte // room to see a message that is too long
	n, err := f.Read(b[:])
	stop()
	if ctx.Err() != nil {
		f.Close()
		return
	}
	if err != nil && !errors.Is(err, dev.ErrMsgSize) {
		s.p.Printf("Failed to read config message.\n")
		f.Close()
		return
	}
	test, cerr := ParseConfig(b[:n])
	if err != nil || cerr != nil {
		s.p.Printf("Invalid config message.\n")
		f.Close()
		return
	}
	if test == Bi {
		s.p.Printf("Doing a bidirectional test.\n")
	} else {
		s.p.Printf("Doing a unidirectional test.\n")
	}
	f.SetReadDeadline(time.Time{})
	f.SetFlags(dev.FlagRdWr | dev.FlagRNoBlock | dev.FlagRNoPart)
	f.SetWriteTimeout(writeTimeout)
	pe := &peer{f: f, test: test, added: s.since()}
	s.mu.Lock()
	s.flows[f] = pe
	s.mu.Unlock()
	if err := s.set.Add(f); err != nil {
		s.p.Printf("Failed to add flow %d to the event set: %v.\n", f.FD(), err)
		s.drop(pe, "")
	}
}

// drop forgets a flow, prints why (if given) and its summary, and
// deallocates it; only the first caller does.
func (s *server) drop(pe *peer, why string) {
	s.mu.Lock()
	_, ok := s.flows[pe.f]
	delete(s.flows, pe.f)
	s.mu.Unlock()
	if !ok {
		return
	}
	fd := pe.f.FD()
	pe.f.Close()
	s.p.WriteTo(func(w io.Writer) {
		if why != "" {
			fmt.Fprintf(w, why, fd)
		}
		pe.summary(w, fd)
	})
}

// summary prints the per-flow line, in the reference ocbr's format: the
// packets and bytes received, and the rates over the time from the first
// to the last packet.
func (pe *peer) summary(w io.Writer, fd int) {
	n, bytes := pe.n.Load(), pe.bytes.Load()
	span := time.Duration(pe.last.Load() - pe.first.Load())
	var pps, mbs float64
	if span > 0 {
		pps = float64(n) / span.Seconds()
		mbs = float64(bytes) * 8 / span.Seconds() / 1e6
	}
	fmt.Fprintf(w, "Flow %4d: %9d packets (%12d bytes) in %9d ms => %9.4f pps, %9.4f Mbps\n",
		fd, n, bytes, span.Milliseconds(), pps, mbs)
}

// cleaner drops the flows that were silent longer than s.idle. A flow with
// no data yet gets one second more: the client pauses that long after the
// configuration.
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
		now := s.since()
		idle = idle[:0]
		s.mu.Lock()
		for _, pe := range s.flows {
			last, limit := time.Duration(pe.last.Load()), s.idle
			if pe.n.Load() == 0 {
				last, limit = pe.added, s.idle+time.Second
			}
			if now-last > limit {
				idle = append(idle, pe)
			}
		}
		s.mu.Unlock()
		for _, pe := range idle {
			s.drop(pe, "Flow %d timed out.\n")
		}
	}
}

// waitLoop waits on the set, at most 100 ms at a time, then serves every
// flow with an event.
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
			s.mu.Lock()
			pe := s.flows[ev.Flow]
			s.mu.Unlock()
			if pe != nil {
				s.serve(pe)
			}
		}
	}
	return nil
}

// serve reads what a flow has ready, up to drainPerWake SDUs.
func (s *server) serve(pe *peer) {
	for range drainPerWake {
		n, err := pe.f.Read(s.buf)
		switch {
		case err == nil:
		case errors.Is(err, dev.ErrWouldBlock):
			return
		case errors.Is(err, dev.ErrFlowDown), errors.Is(err, dev.ErrFlowClosed):
			s.drop(pe, "")
			return
		default:
			continue
		}
		now := int64(s.since())
		pe.first.CompareAndSwap(0, now)
		pe.last.Store(now)
		pe.n.Add(1)
		pe.bytes.Add(uint64(n))
		s.rx.Add(1)
		if pe.test == Bi {
			if _, err := pe.f.Write(s.buf[:n]); err != nil {
				s.drop(pe, "Error writing to flow (fd %d).\n")
				return
			}
		} else if !s.cfg.Quiet {
			s.printSeqno(pe.f.FD(), ID(s.buf[:n]))
		}
	}
}

// printSeqno prints "Seqno <id> from fd <fd>: <sec>.<usec6>".
func (s *server) printSeqno(fd int, id uint32) {
	t := time.Now()
	b := append(s.line[:0], "Seqno "...)
	b = strconv.AppendInt(b, int64(int32(id)), 10) // %d of the reference's uint32
	b = append(b, " from fd "...)
	b = strconv.AppendInt(b, int64(fd), 10)
	b = append(b, ": "...)
	b = strconv.AppendInt(b, t.Unix(), 10)
	b = append(b, '.')
	us := t.Nanosecond() / 1000
	for d := 100000; d > 1 && us < d; d /= 10 {
		b = append(b, '0')
	}
	b = strconv.AppendInt(b, int64(us), 10)
	s.line = append(b, '\n')
	s.p.Write(s.line)
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
