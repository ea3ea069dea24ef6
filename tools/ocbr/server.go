package ocbr

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/o7s/ouroboros/stack/dev"
	"github.com/o7s/ouroboros/tools/internal/tool"
	"github.com/o7s/ouroboros/tools/internal/toolio"
)

// readTick is the read timeout on a flow under test, as the reference's:
// how often a silent flow's test looks at the clock.
const readTick = 100 * time.Millisecond

// Serve runs the ocbr server on c until ctx ends (nil) or accepting fails
// (the error): it tests up to MaxFlows flows at once, each on a goroutine
// of its own, printing a report per flow every cfg.Interval, and ends a
// flow's test when nothing came for cfg.Timeout.
func Serve(ctx context.Context, cfg Config, c *dev.Client, out io.Writer) error {
	if err := cfg.checkServer(); err != nil {
		return err
	}
	p := toolio.NewPrinter(out)
	defer p.Close()
	p.Printf("Server started, interval is %d s, timeout is %d s.\n",
		cfg.Interval/time.Second, cfg.Timeout/time.Second)
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	slots := make(chan struct{}, MaxFlows)
	for {
		select {
		case slots <- struct{}{}:
		default:
			p.Printf("Can't accept any more flows, waiting.\n")
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return nil
			}
		}
		f, err := c.Accept(ctx)
		if ctx.Err() != nil {
			if f != nil {
				f.Close()
			}
			return nil
		}
		if err != nil {
			p.Printf("Failed to accept flow.\n")
			return fmt.Errorf("accept: %w", err)
		}
		p.Printf("New flow.\n")
		t := &test{cfg: cfg, p: p, f: f}
		wg.Go(func() {
			defer func() { <-slots }()
			t.run(ctx)
		})
	}
}

// test is the server's side of one flow.
type test struct {
	cfg Config
	p   *toolio.Printer
	f   *dev.Flow

	// What came since the last report.
	packets, bytes int64
	since          time.Time // of the last report (the start at first)
	frct           dev.FRCTStats
}

// run counts what comes on the flow and reports every interval, until the
// flow was silent for the timeout or ctx ends; then it deallocates the
// flow. A flow that went down is silent: the test ends after the timeout,
// as the reference's does.
func (t *test) run(ctx context.Context) {
	defer t.f.Close()
	t.f.SetFlags(dev.FlagRdWr | dev.FlagRNoPart)
	t.f.SetReadTimeout(readTick)
	buf := make([]byte, dev.MaxSDU)
	t.since = time.Now()
	t.frct, _ = t.f.FRCT()
	alive := t.since                   // when the last packet came
	due := t.since.Add(t.cfg.Interval) // the next report
	for ctx.Err() == nil {
		n, err := t.f.Read(buf)
		now := time.Now()
		switch {
		case err == nil:
			if n > 0 {
				t.packets++
				t.bytes += int64(n)
				alive = now
			}
		case errors.Is(err, dev.ErrTimeout), errors.Is(err, dev.ErrMsgSize):
		default: // down: nothing more comes, the clock runs out
			tool.Sleep(ctx, readTick)
			now = time.Now()
		}
		timedOut := now.Sub(alive) > t.cfg.Timeout
		if !timedOut && now.Before(due) {
			continue
		}
		t.p.WriteTo(func(w io.Writer) {
			if timedOut {
				fmt.Fprintf(w, "Test on flow %d timed out\n", t.f.FD())
			}
			t.report(w, now)
		})
		if timedOut {
			return
		}
		for !due.After(now) {
			due = due.Add(t.cfg.Interval)
		}
	}
}

// report prints the reference's line for what came since the last report
// and, for a flow that has FRCT, an FRCT line for the same time (ours).
func (t *test) report(w io.Writer, now time.Time) {
	t.reportLine(w, t.f.FD(), now)
	if st, ok := t.f.FRCT(); ok {
		printFRCT(w, st.Retransmits-t.frct.Retransmits, st.Duplicates-t.frct.Duplicates)
		t.frct = st
	}
}

// reportLine prints the reference's line for flow fd and starts the next
// interval at now.
func (t *test) reportLine(w io.Writer, fd int, now time.Time) {
	us := now.Sub(t.since).Microseconds()
	var pps, mbps float64
	if us > 0 {
		pps = float64(t.packets) / float64(us) * 1e6
		mbps = 8 * (float64(t.bytes) / float64(us))
	}
	fmt.Fprintf(w, "Flow %4d: %9d packets (%12d bytes) in %9d ms => %9.4f pps, %9.4f Mbps\n",
		fd, t.packets, t.bytes, us/1000, pps, mbps)
	t.packets, t.bytes, t.since = 0, 0, now
}
