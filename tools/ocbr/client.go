package ocbr

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/o7s/ouroboros/stack/dev"
	"github.com/o7s/ouroboros/tools/internal/toolio"
)

// overrun is how long after the duration a blocked write may still take.
// Not less: on an FRCT flow, a write whose deadline passes after FRCT took
// the SDU reports a timeout, yet FRCT delivers the SDU, so the statistics
// would miss one the server counts.
const overrun = time.Second

// client is one run of the client.
type client struct {
	cfg  Config
	f    *dev.Flow
	buf  []byte    // the packet
	sent int64     // packets written
	end  time.Time // of the duration and the overrun; zero for none

	halted atomic.Bool
	done   chan struct{} // closed by halt
	once   sync.Once
}

// Run sends packets to the server cfg.Name over a flow from c with
// cfg.QoS, paced at cfg.Rate or flooding, for cfg.Duration, and writes the
// reference's lines to out. It returns after the statistics, when the
// duration is over or ctx ended (nil), or when a write failed (the error:
// the test stops there, as the reference's, and the statistics are
// printed all the same).
func Run(ctx context.Context, cfg Config, c *dev.Client, out io.Writer) error {
	if err := cfg.checkClient(); err != nil {
		return err
	}
	p := toolio.NewPrinter(out)
	defer p.Close()
	p.Printf("Client started, duration %d, rate %d b/s, size %d B.\n",
		cfg.Duration/time.Second, cfg.Rate, cfg.Size)
	f, err := c.Alloc(ctx, cfg.Name, cfg.QoS)
	if err != nil {
		p.Printf("Failed to allocate flow.\n")
		return err
	}
	defer f.Close()
	cl := &client{cfg: cfg, f: f, buf: make([]byte, cfg.Size), done: make(chan struct{})}
	start := time.Now()
	if cfg.Duration <= math.MaxInt64-overrun {
		// A write still blocked (the flow full, the peer slow) overrun
		// after the duration ends the test; set before a halt can set its
		// own.
		cl.end = start.Add(cfg.Duration + overrun)
		f.SetWriteDeadline(cl.end)
	}
	stop := context.AfterFunc(ctx, cl.halt)
	if cfg.Flood {
		err = cl.flood(start)
	} else {
		err = cl.paced(start)
	}
	if err == errDone {
		err = nil
	}
	elapsed := time.Since(start)
	stop()
	p.WriteTo(func(w io.Writer) { cl.report(w, elapsed) })
	return err
}

// halt stops the run: the sender sees it before its next packet, and a
// write or a wait under way ends.
func (cl *client) halt() {
	cl.once.Do(func() {
		cl.halted.Store(true)
		close(cl.done)
		cl.f.SetWriteDeadline(time.Unix(1, 0)) // unblock a write on a full flow
	})
}

// errDone ends the test early without an error: a halt, or the duration
// over during a write.
var errDone = errors.New("done")

// write sends the packet; a write cut short by a halt or by the end of the
// duration is errDone.
func (cl *client) write() error {
	if _, err := cl.f.Write(cl.buf); err != nil {
		if cl.halted.Load() || errors.Is(err, dev.ErrTimeout) && !cl.end.IsZero() && !time.Now().Before(cl.end) {
			return errDone
		}
		return fmt.Errorf("send: %w", err)
	}
	cl.sent++
	return nil
}

// flood writes unstamped packets as fast as the flow takes them until the
// duration is over.
func (cl *client) flood(start time.Time) error {
	for !cl.halted.Load() {
		if err := cl.write(); err != nil {
			return err
		}
		if time.Since(start) >= cl.cfg.Duration {
			break
		}
	}
	return nil
}

// gap is the time between two packets at the configured rate, as the
// reference computes it: size·8·10^9/rate ns.
func (cl *client) gap() time.Duration {
	return time.Duration(float64(cl.cfg.Size) * 8 * (1e9 / float64(cl.cfg.Rate)))
}

// paced writes packets stamped with their sequence numbers, one a gap,
// until the next one would be due after the duration.
func (cl *client) paced(start time.Time) error {
	gap := cl.gap()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	next := start // when the next packet is due
	for seq := int64(0); !cl.halted.Load(); seq++ {
		PutSeqno(cl.buf, seq)
		if err := cl.write(); err != nil {
			return err
		}
		// Due times follow the start, not the last wake-up, so that a
		// sleep's overshoot is made up by the next wait rather than added
		// to every gap; a sender late by more than a gap starts afresh
		// instead of bursting to catch up.
		if next = next.Add(gap); time.Since(next) > gap {
			next = time.Now()
		}
		cl.waitUntil(next, timer)
		if next.Sub(start) >= cl.cfg.Duration {
			break
		}
	}
	return nil
}

// waitUntil waits for t, spinning (--spin) or asleep, or until a halt.
func (cl *client) waitUntil(t time.Time, timer *time.Timer) {
	if cl.cfg.Spin {
		for time.Now().Before(t) && !cl.halted.Load() {
		}
		return
	}
	d := time.Until(t)
	if d <= 0 {
		return
	}
	timer.Reset(d)
	select {
	case <-timer.C:
	case <-cl.done:
	}
}

// report prints the reference's statistics line, and an FRCT line for a
// flow that has FRCT (ours).
func (cl *client) report(w io.Writer, elapsed time.Duration) {
	cl.reportLine(w, elapsed)
	if st, ok := cl.f.FRCT(); ok {
		printFRCT(w, st.Retransmits, st.Duplicates)
	}
}

// reportLine prints the reference's statistics line.
func (cl *client) reportLine(w io.Writer, elapsed time.Duration) {
	ms := elapsed.Milliseconds()
	var mbps float64
	if ms > 0 {
		mbps = float64(cl.sent) / (float64(ms) * 1000) * float64(cl.cfg.Size) * 8
	}
	fmt.Fprintf(w, "sent statistics: %9d packets, %12d bytes in %9d ms, %4.4f Mb/s\n",
		cl.sent, cl.sent*int64(cl.cfg.Size), ms, mbps)
}

// printFRCT prints the FRCT line (ours).
func printFRCT(w io.Writer, retransmits, duplicates uint64) {
	fmt.Fprintf(w, "      FRCT: %9d retransmissions, %9d duplicates\n", retransmits, duplicates)
}
