package oping

import (
	"context"
	"errors"
	"io"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/o7s/ouroboros/stack/dev"
	"github.com/o7s/ouroboros/stack/errs"
	"github.com/o7s/ouroboros/tools/internal/tool"
	"github.com/o7s/ouroboros/tools/internal/toolio"
)

// Server timing, as the reference's.
const (
	cleanEvery = time.Second
	idleLimit  = 10 * time.Second
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

// server is oping's part in the event-set server.
type server struct {
	cfg        Config
	p          *toolio.Printer
	srv        *tool.Server[*peer]
	idle       time.Duration // a flow silent this long is dropped
	cleanEvery time.Duration

	line   []byte  // the serving goroutine's
	idlers []*peer // the cleaner's
}

func newServer(cfg Config, c *dev.Client, p *toolio.Printer) (*server, error) {
	s := &server{cfg: cfg, p: p, idle: idleLimit, cleanEvery: cleanEvery}
	var err error
	if s.srv, err = tool.NewServer[*peer](c, p, s); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *server) run(ctx context.Context) error {
	s.p.Printf("Ouroboros ping server started.\n")
	return s.srv.Run(ctx, s.cleanEvery, s.cfg.Poll)
}

// Accepted puts a new flow under service.
func (s *server) Accepted(_ context.Context, f *dev.Flow) {
	f.SetFlags(dev.FlagRNoBlock | dev.FlagRdWr | dev.FlagRNoPart)
	f.SetWriteTimeout(writeTimeout)
	pe := &peer{f: f}
	pe.last.Store(monoNow())
	s.srv.Add(f, pe)
}

func (s *server) AcceptFailed(err error) {
	s.p.Printf("Failed to accept flow: %d \n", errs.Code(err))
}

func (s *server) Drop(pe *peer) { s.drop(pe) }

// drop forgets a flow and deallocates it; only the first caller does.
func (s *server) drop(pe *peer) bool {
	if !s.srv.Remove(pe.f) {
		return false
	}
	pe.f.Close()
	return true
}

// Clean drops the flows that were silent longer than s.idle.
func (s *server) Clean() {
	now := monoNow()
	s.idlers = s.srv.Flows(s.idlers[:0], func(pe *peer) bool { return time.Duration(now-pe.last.Load()) > s.idle })
	for _, pe := range s.idlers {
		fd := pe.f.FD()
		if s.drop(pe) {
			s.p.Printf("Flow %d timed out.\n", fd)
		}
	}
}

// Packet echoes a request with its type set to reply.
func (s *server) Packet(pe *peer, b []byte) bool {
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
		return true
	}
	pe.last.Store(monoNow())
	h.SetType(EchoReply)
	if _, err := pe.f.Write(b); err != nil {
		s.p.Printf("Error writing to flow (fd %d).\n", fd)
	}
	return true
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
