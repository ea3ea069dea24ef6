package seqpkttest

import (
	"errors"
	"os"
	"testing"
	"testing/synctest"
	"time"

	"github.com/o7s/ouroboros/stack/seqpkt"
)

func TestPipe(t *testing.T) {
	a, b := Pipe()
	for _, p := range []string{"one", "", "three"} {
		if err := a.Write([]byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 4)
	if n, err := b.Read(buf); n != 3 || err != nil || string(buf[:n]) != "one" {
		t.Fatalf("Read = %d %q, %v; want one", n, buf[:min(n, len(buf))], err)
	}
	if n, err := b.Read(buf); n != 0 || err != nil {
		t.Fatalf("Read of an empty packet = %d, %v", n, err)
	}
	if n, err := b.Read(buf[:2]); n != 5 || err != nil || string(buf[:2]) != "th" {
		t.Fatalf("truncated Read = %d %q, %v; want the full length 5", n, buf[:2], err)
	}
	a.Write([]byte("last"))
	a.Close()
	if err := a.Write(nil); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Write after Close = %v", err)
	}
	if n, err := b.Read(buf); n != 4 || err != nil {
		t.Errorf("Read after the peer closed = %d, %v; want the packet it sent", n, err)
	}
	if _, err := b.Read(buf); !errors.Is(err, seqpkt.ErrPeerClosed) {
		t.Errorf("Read at the end = %v, want ErrPeerClosed", err)
	}
	if err := b.Write(nil); !errors.Is(err, seqpkt.ErrPeerClosed) {
		t.Errorf("Write to a closed peer = %v, want ErrPeerClosed", err)
	}
}

func TestPipeDeadlineAndClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := Pipe()
		start := time.Now()
		b.SetReadDeadline(start.Add(time.Second))
		if _, err := b.Read(nil); !errors.Is(err, os.ErrDeadlineExceeded) || time.Since(start) != time.Second {
			t.Errorf("Read = %v after %v, want a timeout after 1s", err, time.Since(start))
		}
		a.Write([]byte("x"))
		if _, err := b.Read(nil); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("Read past the deadline with a packet queued = %v, want a timeout", err)
		}
		b.SetReadDeadline(time.Time{})
		if n, err := b.Read(nil); n != 1 || err != nil {
			t.Errorf("Read with the deadline cleared = %d, %v", n, err)
		}
		errc := make(chan error)
		go func() {
			_, err := b.Read(nil)
			errc <- err
		}()
		synctest.Wait()
		b.Close()
		if err := <-errc; !errors.Is(err, os.ErrClosed) {
			t.Errorf("blocked Read after Close = %v, want os.ErrClosed", err)
		}
	})
}
