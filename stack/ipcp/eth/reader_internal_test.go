package eth

import (
	"context"
	"net"
	"testing"
)

// batchLink is a Link whose reads fill the batch they are given with runts,
// but for the reads numbered in short, which read one; it reports the
// batch's size of each call, and ends at done.
type batchLink struct {
	Link  // nil: the reader calls ReadBatch only
	calls chan int
	done  chan struct{}
	n     int
	short map[int]bool
}

func (l *batchLink) ReadBatch(bufs [][]byte, sizes []int) (int, error) {
	select {
	case l.calls <- len(bufs):
	case <-l.done:
		return 0, net.ErrClosed
	}
	n := len(bufs)
	if l.short[l.n] {
		n = 1
	}
	l.n++
	for i := range n {
		sizes[i] = 1
	}
	return n, nil
}

// TestReaderGrows: the reader starts with firstBatch buffers and takes
// BatchSize from the read after the growAfter-th that filled them; a read
// that does not fill them does not count.
func TestReaderGrows(t *testing.T) {
	l := &batchLink{calls: make(chan int), done: make(chan struct{}), short: map[int]bool{growAfter - 1: true}}
	ctx, cancel := context.WithCancel(context.Background())
	p := &IPCP{link: l, frameLen: MinFrame, ctx: ctx, cancel: cancel}
	p.wg.Add(1)
	go p.reader()
	for i := range growAfter + 1 { // growAfter full reads and a short one
		if n := <-l.calls; n != firstBatch {
			t.Fatalf("read %d into %d buffers, want %d", i, n, firstBatch)
		}
	}
	for range 2 {
		if n := <-l.calls; n != BatchSize {
			t.Errorf("read after %d full ones into %d buffers, want %d", growAfter, n, BatchSize)
		}
	}
	cancel()
	close(l.done)
	p.wg.Wait()
	if got, want := p.Stats.DropTruncated.Load(), uint64(growAfter*firstBatch+1+2*BatchSize); got != want {
		t.Errorf("DropTruncated = %d, want %d (every runt read)", got, want)
	}
}
