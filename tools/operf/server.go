package operf

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/o7s/ouroboros/stack/dev"
	"github.com/o7s/ouroboros/tools/internal/tool"
	"github.com/o7s/ouroboros/tools/internal/toolio"
)

// Server timing.
const (
	cleanEvery    = time.Second
	idleLimit     = time.Second     // a flow silent longer is dropped
	configTimeout = 5 * time.Second // for the configuration message
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

// server is operf's part in the event-set server.
type server struct {
	cfg        Config
	p          *toolio.Printer
	srv        *tool.Server[*peer]
	epoch      time.Time
	idle       time.Duration
	cleanEvery time.Duration
	rx         atomic.Uint64 // packets received on every flow (for benchmarks)

	line   []byte  // the serving goroutine's
	idlers []*peer // the cleaner's
}

func newServer(cfg Config, c *dev.Client, p *toolio.Printer) (*server, error) {
	s := &server{cfg: cfg, p: p, epoch: time.Now(), idle: idleLimit, cleanEvery: cleanEvery}
	var err error
	if s.srv, err = tool.NewServer[*peer](c, p, s); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *server) run(ctx context.Context) error {
	s.p.Printf("Ouroboros perf server started.\n")
	return s.srv.Run(ctx, s.cleanEvery, false)
}

func (s *server) since() time.Duration { return time.Since(s.epoch) }

// Accepted reads the configuration of a new flow on a goroutine of its
// own, so a slow client holds up nobody.
func (s *server) Accepted(ctx context.Context, f *dev.Flow) {
	s.srv.Go(func() { s.configure(ctx, f) })
}

func (s *server) AcceptFailed(error) { s.p.Printf("Failed to accept flow.\n") }

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
	s.srv.Add(f, &peer{f: f, test: test, added: s.since()})
}

func (s *server) Drop(pe *peer) { s.drop(pe, "") }

// drop forgets a flow, prints why (if given) and its summary, and
// deallocates it; only the first caller does.
func (s *server) drop(pe *peer, why string) {
	if !s.srv.Remove(pe.f) {
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
	frctReport(w, pe.f)
}

// Clean drops the flows that were silent longer than s.idle. A flow with
// no data yet gets one second more: the client pauses that long after the
// configuration.
func (s *server) Clean() {
	now := s.since()
	s.idlers = s.srv.Flows(s.idlers[:0], func(pe *peer) bool {
		last, limit := time.Duration(pe.last.Load()), s.idle
		if pe.n.Load() == 0 {
			last, limit = pe.added, s.idle+time.Second
		}
		return now-last > limit
	})
	for _, pe := range s.idlers {
		s.drop(pe, "Flow %d timed out.\n")
	}
}

// Packet counts an SDU, and echoes it (bi) or prints its id (uni).
func (s *server) Packet(pe *peer, b []byte) bool {
	now := int64(s.since())
	pe.first.CompareAndSwap(0, now)
	pe.last.Store(now)
	pe.n.Add(1)
	pe.bytes.Add(uint64(len(b)))
	s.rx.Add(1)
	if pe.test == Bi {
		if _, err := pe.f.Write(b); err != nil {
			s.drop(pe, "Error writing to flow (fd %d).\n")
			return false
		}
	} else if !s.cfg.Quiet {
		s.printSeqno(pe.f.FD(), ID(b))
	}
	return true
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
