package operf

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/o7s/ouroboros/stack/dev"
	"github.com/o7s/ouroboros/tools/internal/tool"
	"github.com/o7s/ouroboros/tools/internal/toolio"
)

// configPause is the client's pause between the configuration and the
// data, as the reference's (a variable for tests).
var configPause = time.Second

// Client timing, as the reference's.
const (
	readTimeout = 2 * time.Second // bi: silence that ends the test
	// spinFor is how much of a long gap the paced sender spins through
	// rather than sleeps, to be on time without keeping a core busy.
	spinFor = time.Millisecond
)

// client is one run of the client.
type client struct {
	cfg Config
	f   *dev.Flow
	w   *toolio.Waker
	p   *toolio.Printer
	buf []byte // the writer's packet

	sent       atomic.Uint64
	rcvd       uint64 // the reader's
	writerDone atomic.Bool

	halted atomic.Bool
	once   sync.Once
	err    error // why the run stopped early; set in halt
}

// Run tests the server cfg.Name over a raw flow from c and writes the
// reference's report to out. It returns after the statistics, when the
// duration is over, the server timed out (bi) or ctx ended (nil), or when
// the flow failed (the error). Failures are reported on out with the
// reference's lines; the returned error has the detail.
func Run(ctx context.Context, cfg Config, c *dev.Client, out io.Writer) error {
	if err := cfg.check(); err != nil {
		return err
	}
	p := toolio.NewPrinter(out)
	defer p.Close()
	f, err := c.Alloc(ctx, cfg.Name, cfg.QoS)
	if err != nil {
		p.Printf("Failed to allocate flow.\n")
		return err
	}
	defer f.Close()
	f.SetFlags(dev.FlagRdWr | dev.FlagRNoPart)
	cl := &client{cfg: cfg, f: f, w: toolio.NewWaker(f), p: p, buf: make([]byte, cfg.Size)}
	stop := context.AfterFunc(ctx, func() { cl.halt("", nil) })
	defer stop()
	if cfg.Test == Bi {
		p.Printf("Doing a bidirectional test.\n")
	} else {
		p.Printf("Doing a unidirectional test.\n")
	}
	if _, err := f.Write(AppendConfig(nil, cfg.Test)); err != nil {
		p.Printf("Failed to send configuration.\n")
		return fmt.Errorf("send the configuration: %w", err)
	}
	tool.Sleep(ctx, configPause)
	start := time.Now()
	var wg sync.WaitGroup
	if cfg.Test == Bi {
		wg.Go(cl.reader)
	}
	cl.writer()
	if _, ok := f.FRCT(); ok && cfg.Test == Uni {
		f.Close() // lingers until the peer acknowledged what was sent
	}
	elapsed := time.Since(start)
	cl.writerDone.Store(true)
	cl.w.Wake()
	wg.Wait()
	cl.halt("", nil) // waits for a halt under way, so cl.err is settled
	p.WriteTo(func(w io.Writer) { cl.report(w, elapsed) })
	return cl.err
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
		cl.w.Wake()
		cl.f.SetWriteDeadline(time.Unix(1, 0)) // unblock a writer on a full flow
	})
}

// gap is the time between two packets at the configured rate.
func (cl *client) gap() time.Duration {
	return time.Duration(float64(cl.cfg.Size) * 8 * (1e9 / float64(cl.cfg.Rate)))
}

// writer sends packets while the elapsed time is below the duration.
func (cl *client) writer() {
	if cl.cfg.Flood {
		cl.p.Printf("Flooding %s with %d byte packets for %d seconds.\n\n",
			cl.cfg.Name, cl.cfg.Size, cl.cfg.Duration.Milliseconds()/1000)
	} else {
		cl.p.Printf("Sending %d byte packets for %d s to %s at %.3f Mb/s.\n\n",
			cl.cfg.Size, cl.cfg.Duration.Milliseconds()/1000, cl.cfg.Name, float64(cl.cfg.Rate)/1e6)
	}
	gap := cl.gap()
	start := time.Now()
	next := start // when the next packet is due
	for id := uint32(0); !cl.halted.Load(); id++ {
		now := time.Now()
		if now.Sub(start) >= cl.cfg.Duration {
			break
		}
		PutID(cl.buf, id)
		if _, err := cl.f.Write(cl.buf); err != nil {
			if cl.halted.Load() {
				break // the write was cut short by the stop
			}
			cl.halt("Failed to send packet.", fmt.Errorf("send: %w", err))
			return
		}
		cl.sent.Add(1)
		if !cl.cfg.Flood {
			// Due times follow the start, not the last wake-up, so that
			// a sleep's overshoot is made up by the next wait rather than
			// added to every gap; a sender late by more than a gap
			// starts afresh instead of bursting to catch up.
			if next = next.Add(gap); time.Since(next) > gap {
				next = time.Now()
			}
			cl.waitUntil(next)
		}
	}
	cl.p.Printf("Test finished.\n")
}

// waitUntil waits for the next packet's time: asleep with --sleep,
// otherwise asleep for all but the last spinFor and then spinning.
func (cl *client) waitUntil(t time.Time) {
	d := time.Until(t)
	if cl.cfg.Sleep {
		if d > 0 {
			time.Sleep(d)
		}
		return
	}
	if d > 2*spinFor {
		time.Sleep(d - spinFor)
	}
	for time.Now().Before(t) && !cl.halted.Load() {
	}
}

// reader counts what the server echoes (bi). It stops when the run is
// halted, when every packet sent came back after the writer is done, or
// after readTimeout without a packet.
func (cl *client) reader() {
	buf := make([]byte, dev.MaxSDU)
	for {
		if cl.writerDone.Load() && cl.rcvd >= cl.sent.Load() {
			return
		}
		n, err := cl.w.Read(buf, readTimeout)
		switch {
		case err == nil:
		case errors.Is(err, toolio.ErrWoken):
			if cl.halted.Load() {
				return
			}
			continue
		case errors.Is(err, dev.ErrTimeout):
			cl.halt("Server timed out.", nil)
			return
		case errors.Is(err, dev.ErrFlowDown), errors.Is(err, dev.ErrFlowClosed):
			cl.halt("Failed to read packet.", fmt.Errorf("read: %w", err))
			return
		default:
			continue
		}
		if n != cl.cfg.Size {
			cl.p.Printf("Invalid message on fd %d.\n", cl.f.FD())
			continue
		}
		cl.rcvd++
	}
}

// report prints the statistics: the reference's for bi, and for uni what
// was sent.
func (cl *client) report(w io.Writer, elapsed time.Duration) {
	sent := cl.sent.Load()
	us := float64(elapsed.Microseconds())
	ms := us / 1000
	fmt.Fprintf(w, "\n--- %s perf statistics ---\n", cl.cfg.Name)
	if cl.cfg.Test == Uni {
		var pps float64
		if us > 0 {
			pps = float64(sent) * 1e6 / us
		}
		fmt.Fprintf(w, "%d packets transmitted, time: %.3f ms, %.0f packets/s, bandwidth: %.3f Mb/s.\n",
			sent, ms, pps, mbps(sent*uint64(cl.cfg.Size), us))
		frctReport(w, cl.f)
		return
	}
	defer frctReport(w, cl.f)
	fmt.Fprintf(w, "%d packets transmitted, %d received, %d%% packet loss, time: %.3f ms, bandwidth: %.3f Mb/s.\n",
		sent, cl.rcvd, lossPercent(sent, cl.rcvd), ms, mbps(cl.rcvd*uint64(cl.cfg.Size), us))
}

// frctReport prints a flow's FRCT counters, when it has FRCT.
func frctReport(w io.Writer, f *dev.Flow) {
	if f == nil {
		return
	}
	st, ok := f.FRCT()
	if !ok {
		return
	}
	var pct float64
	if st.DataSent > 0 {
		pct = 100 * float64(st.Retransmits) / float64(st.DataSent)
	}
	fmt.Fprintf(w, "FRCT: %d sent, %d retransmitted (%.2f%%), %d received, %d out of order, %d duplicates, %d late, %d rendezvous.\n",
		st.DataSent, st.Retransmits, pct, st.Delivered, st.OutOfOrder, st.Duplicates, st.Late, st.RdvsSent)
}

// lossPercent is the reference's integer 100 − 100·rcvd/sent.
func lossPercent(sent, rcvd uint64) uint64 {
	if sent == 0 || rcvd >= sent {
		return 0
	}
	return 100 - 100*rcvd/sent
}

// mbps is bytes over us microseconds in Mb/s.
func mbps(bytes uint64, us float64) float64 {
	if us <= 0 {
		return 0
	}
	return float64(bytes) * 8 / us
}
