package eth

import (
	"context"
	"net"
	"testing"
)

// batchLink is a Link whose reads always fill the batch they are given,
// with runts, and report the batch's size on calls; it ends at done.
type batchLink struct {
	Link  // nil: the reader calls ReadBatch only
	calls chan int
	done  chan struct{}
}

func (l *batchLink) ReadBatch(bufs [][]byte, sizes []int) (int, error) {
	select {
	case l.calls <- len(bufs):
	case <-l.done:
		return 0, net.ErrClosed
	}
	for i := range bufs {
		sizes[i] = 1
	}
	return len(bufs), nil
}

// TestReaderGrows: the reader starts with firstBatch buffers and takes
// BatchSize from the read after one that filled them.
func TestReaderGrows(t *testing.T) {
	l := &batchLink{calls: make(chan int), done: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	p := &IPCP{link: l, frameLen: MinFrame, ctx: ctx, cancel: cancel}
	p.wg.Add(1)
	go p.reader()
	if n := <-l.calls; n != firstBatch {
		t.Errorf("first read into %d buffers, want %d", n, firstBatch)
	}
	for range 2 {
		if n := <-l.calls; n != BatchSize {
			t.Errorf("read after a full one into %d buffers, want %d", n, BatchSize)
		}
	}
	cancel()
	close(l.done)
	p.wg.Wait()
	if got, want := p.Stats.DropTruncated.Load(), uint64(firstBatch+2*BatchSize); got != want {
		t.Errorf("DropTruncated = %d, want %d (every runt read)", got, want)
	}
}
