package oping

import (
	"github.com/o7s/ouroboros/tools/internal/toolio"

	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/o7s/ouroboros/stack/dev"
	"github.com/o7s/ouroboros/stack/errs"
)

// floodTimeout is how long a flood read waits for a reply. The reference
// waits forever, so one lost reply hangs it.
const floodTimeout = 2 * time.Second

// client is one run of the client; stats are owned by the reader (the
// writer only counts sent) and read after both are done.
type client struct {
	cfg   Config
	f     *dev.Flow
	w     *toolio.Waker
	p     *toolio.Printer
	stats stats
	buf   []byte // the reader's
	line  []byte // the reader's output line
	msg   []byte // the writer's packet

	halted atomic.Bool
	once   sync.Once
	stop   chan struct{}
	err    error // why the run stopped early; set in halt
}

// Run pings cfg.Name over a flow from c and writes the reference's report
// to out: a line per reply unless quiet, then the statistics. It returns
// after the statistics, when all cfg.Count replies are in, the server timed
// out or ctx ended (nil), or when the flow failed (the error). Failures are
// reported on out with the reference's lines, which carry the reference's
// error code at most; the returned error has the detail.
func Run(ctx context.Context, cfg Config, c *dev.Client, out io.Writer) error {
	if err := cfg.check(); err != nil {
		return err
	}
	p := toolio.NewPrinter(out)
	defer p.Close()
	f, err := c.Alloc(ctx, cfg.Name, cfg.QoS)
	if err != nil {
		p.Printf("Failed to allocate flow: %d.\n", errs.Code(err))
		return err
	}
	defer f.Close()
	f.SetFlags(dev.FlagRdWr | dev.FlagRNoPart)
	cl := newClient(cfg, f, p)
	stop := context.AfterFunc(ctx, func() { cl.halt("", nil) })
	defer stop()
	start := time.Now()
	switch {
	case cfg.FloodBusy:
		cl.floodBusy()
	case cfg.Flood:
		cl.flood()
	default:
		cl.threaded()
	}
	elapsed := time.Since(start)
	cl.halt("", nil) // waits for a halt under way, so cl.err is settled
	p.WriteTo(func(w io.Writer) { cl.stats.write(w, cfg.Name, elapsed) })
	return cl.err
}

func newClient(cfg Config, f *dev.Flow, p *toolio.Printer) *client {
	return &client{cfg: cfg, f: f, w: toolio.NewWaker(f), p: p, stats: newStats(),
		buf: make([]byte, dev.MaxSDU), msg: make([]byte, cfg.Size), stop: make(chan struct{})}
}

// halt stops the run once: it prints msg (if any), keeps err and wakes
// whoever waits.
func (cl *client) halt(msg string, err error) {
	cl.once.Do(func() {
		if msg != "" {
			cl.p.Printf("%s\n", msg)
		}
		cl.err = err
		cl.halted.Store(true)
		close(cl.stop)
		cl.w.Wake()
		// A writer blocked on a full flow (the server is blocked writing
		// replies nobody reads any more) must give up too.
		cl.f.SetWriteDeadline(time.Unix(1, 0))
	})
}

func (cl *client) header(busy bool) {
	if cl.cfg.Quiet {
		return
	}
	mode := ""
	if busy {
		mode = ", busy-poll"
	}
	cl.p.Printf("Pinging %s with %d bytes of data (%d packets%s):\n\n", cl.cfg.Name, cl.cfg.Size, cl.cfg.Count, mode)
}

// send stamps and writes request id.
func (cl *client) send(id uint32) error {
	sec, nsec := splitStamp(monoNow())
	Header(cl.msg).Put(EchoRequest, id, sec, nsec)
	_, err := cl.f.Write(cl.msg)
	return err
}

// threaded is the reference's default mode: a writer sends every interval
// (with interval 0 it does not wait at all, so requests are pipelined) and
// a reader takes the replies as they come.
func (cl *client) threaded() {
	cl.header(false)
	var wg sync.WaitGroup
	wg.Go(cl.writer)
	wg.Go(cl.reader)
	wg.Wait()
}

func (cl *client) writer() {
	var tick *time.Timer
	if cl.cfg.Interval > 0 {
		tick = time.NewTimer(time.Hour)
		defer tick.Stop()
	}
	for cl.stats.sent < cl.cfg.Count {
		if tick != nil {
			tick.Reset(cl.cfg.Interval)
			select {
			case <-cl.stop:
				return
			case <-tick.C:
			}
		} else if cl.halted.Load() {
			return
		}
		if err := cl.send(cl.stats.sent); err != nil {
			if !cl.halted.Load() {
				cl.halt("Failed to send packet.", fmt.Errorf("send: %w", err))
			}
			return
		}
		cl.stats.sent++
	}
}

// readTimeout is the reference's: the interval in whole seconds, plus 2 s.
func (cl *client) readTimeout() time.Duration {
	return (cl.cfg.Interval/time.Second + 2) * time.Second
}

func (cl *client) reader() {
	var next uint32 // the id after the highest seen
	for cl.stats.rcvd < cl.cfg.Count {
		n, err := cl.w.Read(cl.buf, cl.readTimeout())
		now := monoNow()
		switch {
		case err == nil:
		case errors.Is(err, toolio.ErrWoken):
			return
		case errors.Is(err, dev.ErrTimeout):
			cl.halt("Server timed out.", nil)
			return
		case errors.Is(err, dev.ErrFlowDown), errors.Is(err, dev.ErrFlowClosed):
			cl.halt("Failed to read packet.", fmt.Errorf("read: %w", err))
			return
		default:
			continue
		}
		h, err := ParseHeader(cl.buf[:n])
		if err != nil || h.Type() != EchoReply {
			cl.p.Printf("Invalid message on fd %d.\n", cl.f.FD())
			continue
		}
		id := h.ID()
		if id >= cl.cfg.Count {
			cl.p.Printf("Invalid id.\n")
			continue
		}
		rtt := now - h.Stamp()
		ooo := id < next
		if ooo {
			cl.stats.ooo++
		}
		cl.printReply(n, id, rtt, ooo)
		cl.stats.add(rtt)
		next = max(next, id+1)
	}
	cl.halt("", nil)
}

func (cl *client) printReply(n int, id uint32, rtt int64, ooo bool) {
	if cl.cfg.Quiet {
		return
	}
	b := cl.line[:0]
	if cl.cfg.TimeOfDay {
		b = appendTimeOfDay(b, time.Now())
	}
	cl.line = appendReply(b, n, cl.cfg.Name, id, rtt, ooo)
	cl.p.Write(cl.line)
}

// errNoReply is a flood read that waited floodTimeout in vain.
var errNoReply = fmt.Errorf("no reply in %v: %w", floodTimeout, dev.ErrTimeout)

// reply checks the reply in buf[:n], read at now, and returns its RTT; ok
// is false for a packet that is not an intact reply: the wrong size, or a
// payload that is not the zeros we sent.
func (cl *client) reply(n int, now int64) (rtt int64, ok bool) {
	h, err := ParseHeader(cl.buf[:n])
	if err != nil || h.Type() != EchoReply || n != cl.cfg.Size || !zeros(cl.buf[HeaderLen:n]) {
		return 0, false
	}
	return now - h.Stamp(), true
}

func zeros(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// flood is ping-pong: each request goes out when the previous reply is in.
func (cl *client) flood() {
	cl.header(false)
	for !cl.halted.Load() && cl.stats.sent < cl.cfg.Count {
		id := cl.stats.sent
		if err := cl.send(id); err != nil {
			cl.halt("Failed to send packet.", fmt.Errorf("send: %w", err))
			return
		}
		cl.stats.sent++
		n, err := cl.w.Read(cl.buf, floodTimeout)
		now := monoNow()
		if err != nil {
			cl.readFailed(err)
			return
		}
		cl.floodReply(n, now, id)
	}
}

// floodBusy is flood with non-blocking reads in a busy loop.
func (cl *client) floodBusy() {
	cl.f.SetFlags(dev.FlagRdWr | dev.FlagRNoPart | dev.FlagRNoBlock)
	cl.header(true)
	for !cl.halted.Load() && cl.stats.sent < cl.cfg.Count {
		id := cl.stats.sent
		if err := cl.send(id); err != nil {
			cl.halt("Failed to send packet.", fmt.Errorf("send: %w", err))
			return
		}
		cl.stats.sent++
		n, err := cl.spinRead()
		now := monoNow()
		if err != nil {
			cl.readFailed(err)
			return
		}
		cl.floodReply(n, now, id)
	}
}

func (cl *client) floodReply(n int, now int64, id uint32) {
	if rtt, ok := cl.reply(n, now); ok {
		cl.stats.add(rtt)
		cl.printReply(cl.cfg.Size, id, rtt, false)
	}
}

// spinRead polls the (non-blocking) flow until an SDU is in, the run is
// halted or floodTimeout passed.
func (cl *client) spinRead() (int, error) {
	var deadline time.Time
	for i := 1; ; i++ {
		n, err := cl.f.Read(cl.buf)
		if err == nil {
			return n, nil
		}
		if cl.halted.Load() {
			return 0, toolio.ErrWoken
		}
		if !errors.Is(err, dev.ErrWouldBlock) {
			return 0, err
		}
		if i%1024 == 0 {
			if now := time.Now(); deadline.IsZero() {
				deadline = now.Add(floodTimeout)
			} else if now.After(deadline) {
				return 0, errNoReply
			}
		}
	}
}

// readFailed ends a flood run on a failed read.
func (cl *client) readFailed(err error) {
	switch {
	case errors.Is(err, toolio.ErrWoken):
	case errors.Is(err, dev.ErrTimeout):
		cl.halt("Server timed out.", nil)
	default:
		cl.halt("Failed to read packet.", fmt.Errorf("read: %w", err))
	}
}
