package operf

import (
	"bufio"
	"fmt"
	"io"
	"sync"
	"time"
)

// flushEvery bounds how long a buffered line waits to reach the output.
const flushEvery = 50 * time.Millisecond

// printer serialises the lines of several goroutines onto one writer. Lines
// of events (a new flow, a failure) are written at once; lines per packet
// are buffered and flushed within flushEvery, so a flood does not cost one
// write per packet.
type printer struct {
	mu    sync.Mutex // guards w, dirty
	w     *bufio.Writer
	dirty bool

	done chan struct{}
	wg   sync.WaitGroup
}

func newPrinter(out io.Writer) *printer {
	p := &printer{w: bufio.NewWriterSize(out, 64<<10), done: make(chan struct{})}
	p.wg.Go(p.flushLoop)
	return p
}

func (p *printer) flushLoop() {
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

// printf writes a line at once.
func (p *printer) printf(format string, a ...any) {
	p.mu.Lock()
	fmt.Fprintf(p.w, format, a...)
	p.w.Flush()
	p.dirty = false
	p.mu.Unlock()
}

// write buffers b.
func (p *printer) write(b []byte) {
	p.mu.Lock()
	p.w.Write(b)
	p.dirty = true
	p.mu.Unlock()
}

// writeTo writes through fn with the lock held and flushes.
func (p *printer) writeTo(fn func(io.Writer)) {
	p.mu.Lock()
	fn(p.w)
	p.w.Flush()
	p.dirty = false
	p.mu.Unlock()
}

// close stops the flusher and flushes what is left.
func (p *printer) close() {
	close(p.done)
	p.wg.Wait()
	p.mu.Lock()
	p.w.Flush()
	p.mu.Unlock()
}
