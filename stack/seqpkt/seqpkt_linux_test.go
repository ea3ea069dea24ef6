package seqpkt

import (
	"bytes"
	"errors"
	"os"
	"testing"
	"time"
)

func pair(t testing.TB) (*Conn, *Conn) {
	t.Helper()
	a, b, err := Pair()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

func TestRoundTripKeepsBoundaries(t *testing.T) {
	a, b := pair(t)
	msgs := [][]byte{[]byte("one"), {}, bytes.Repeat([]byte{7}, 1400), []byte("last")}
	for _, m := range msgs {
		if err := a.Write(m); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 2048)
	for i, m := range msgs {
		n, err := b.Read(buf)
		if err != nil {
			t.Fatalf("read %d: %v", i, err)
		}
		if !bytes.Equal(buf[:n], m) {
			t.Fatalf("read %d = %q, want %q", i, buf[:n], m)
		}
	}
}

func TestZeroLengthThenClose(t *testing.T) {
	a, b := pair(t)
	if err := a.Write(nil); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	if n, err := b.Read(buf); n != 0 || err != nil {
		t.Fatalf("empty packet: n=%d err=%v, want 0, nil", n, err)
	}
	a.Close()
	if _, err := b.Read(buf); !errors.Is(err, ErrPeerClosed) {
		t.Fatalf("after close: err=%v, want ErrPeerClosed", err)
	}
	if err := b.Write([]byte("x")); !errors.Is(err, ErrPeerClosed) {
		t.Fatalf("write after peer close: err=%v, want ErrPeerClosed", err)
	}
}

func TestTruncationReportsFullLength(t *testing.T) {
	a, b := pair(t)
	a.Write(make([]byte, 100))
	small := make([]byte, 10)
	if n, err := b.Read(small); err != nil || n != 100 {
		t.Fatalf("Read = %d, %v; want full length 100", n, err)
	}
}

func TestReadDeadline(t *testing.T) {
	_, b := pair(t)
	b.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	if _, err := b.Read(make([]byte, 8)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
}

func TestCloseUnblocksReader(t *testing.T) {
	_, b := pair(t)
	done := make(chan error)
	go func() { _, err := b.Read(make([]byte, 8)); done <- err }()
	time.AfterFunc(10*time.Millisecond, func() { b.Close() })
	if err := <-done; !errors.Is(err, os.ErrClosed) {
		t.Fatalf("err = %v, want os.ErrClosed", err)
	}
}

func TestFromFileRejectsOtherSockets(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := FromFile(r); err == nil {
		t.Fatal("FromFile(pipe) succeeded")
	}
}

func TestReadWriteDoNotAllocate(t *testing.T) {
	a, b := pair(t)
	msg, buf := make([]byte, 64), make([]byte, 2048)
	n := testing.AllocsPerRun(1000, func() {
		if err := a.Write(msg); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Read(buf); err != nil {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Fatalf("allocs per packet = %v, want 0", n)
	}
}

func BenchmarkPingPong(b *testing.B) {
	x, y := pair(b)
	go func() {
		buf := make([]byte, 2048)
		for {
			n, err := y.Read(buf)
			if err != nil {
				return
			}
			y.Write(buf[:n])
		}
	}()
	msg, buf := make([]byte, 64), make([]byte, 2048)
	b.ReportAllocs()
	for b.Loop() {
		x.Write(msg)
		x.Read(buf)
	}
}

func TestTryReadWrite(t *testing.T) {
	a, b := pair(t)
	if _, err := b.TryRead(make([]byte, 8)); !errors.Is(err, ErrWouldBlock) {
		t.Fatalf("TryRead on empty = %v, want ErrWouldBlock", err)
	}
	var err error
	for i := 0; i < 1e6 && err == nil; i++ {
		err = a.TryWrite(make([]byte, 1024))
	}
	if !errors.Is(err, ErrWouldBlock) {
		t.Fatalf("TryWrite until full = %v, want ErrWouldBlock", err)
	}
	if n, err := b.TryRead(make([]byte, 2048)); err != nil || n != 1024 {
		t.Fatalf("TryRead = %d, %v", n, err)
	}
}

// TestWait: Wait returns once a packet is queued and leaves it there, for
// a zero-length packet too, and says ErrPeerClosed at the end of the flow.
func TestWait(t *testing.T) {
	a, b := pair(t)
	done := make(chan error, 1)
	go func() { done <- b.Wait() }()
	if err := a.Write([]byte("first")); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Wait = %v with a packet queued", err)
	}
	if err := b.Wait(); err != nil { // still there
		t.Fatalf("second Wait = %v", err)
	}
	buf := make([]byte, 16)
	if n, err := b.Read(buf); err != nil || string(buf[:n]) != "first" {
		t.Fatalf("Read after Wait = %q, %v; want the packet Wait saw", buf[:n], err)
	}
	a.Write(nil)
	if err := b.Wait(); err != nil {
		t.Fatalf("Wait with a zero-length packet queued = %v", err)
	}
	if n, err := b.Read(buf); n != 0 || err != nil {
		t.Fatalf("Read = %d, %v; want the zero-length packet", n, err)
	}
	a.Close()
	if err := b.Wait(); !errors.Is(err, ErrPeerClosed) {
		t.Fatalf("Wait after the peer closed = %v, want ErrPeerClosed", err)
	}
}
