// Package toolio holds what the tools share for their output and their reads: a
// printer that serialises and batches lines, and a read that another
// goroutine can interrupt.
package toolio

import (
	"bufio"
	"fmt"
	"io"
	"sync"
	"time"
)

// flushEvery bounds how long a buffered line waits to reach the output.
const flushEvery = 50 * time.Millisecond

// Printer serialises the lines of several goroutines onto one writer. Lines
// of events (a new flow, a failure) are written at once; lines per packet
// are buffered and flushed within flushEvery, so a flood does not cost one
// write per packet.
type Printer struct {
	mu    sync.Mutex // guards w, dirty
	w     *bufio.Writer
	dirty bool

	done chan struct{}
	wg   sync.WaitGroup
}

// NewPrinter returns a printer onto out; Close it to flush.
func NewPrinter(out io.Writer) *Printer {
	p := &Printer{w: bufio.NewWriterSize(out, 64<<10), done: make(chan struct{})}
	p.wg.Go(p.flushLoop)
	return p
}

func (p *Printer) flushLoop() {
	t := time.NewTicker(flushEvery)
	defer t.Stop()
	for {
		select {
		case <-p.done:
			return
		case <-t.C:
			p.mu.Lock()
			if p.dirty {
				p.w.Flush()
				p.dirty = false
			}
			p.mu.Unlock()
		}
	}
}

// Printf writes a line at once.
func (p *Printer) Printf(format string, a ...any) {
	p.mu.Lock()
	fmt.Fprintf(p.w, format, a...)
	p.w.Flush()
	p.dirty = false
	p.mu.Unlock()
}

// Write buffers b.
func (p *Printer) Write(b []byte) {
	p.mu.Lock()
	p.w.Write(b)
	p.dirty = true
	p.mu.Unlock()
}

// WriteTo writes through fn with the lock held and flushes.
func (p *Printer) WriteTo(fn func(io.Writer)) {
	p.mu.Lock()
	fn(p.w)
	p.w.Flush()
	p.dirty = false
	p.mu.Unlock()
}

// Close stops the flusher and flushes what is left.
func (p *Printer) Close() {
	close(p.done)
	p.wg.Wait()
	p.mu.Lock()
	p.w.Flush()
	p.mu.Unlock()
}
