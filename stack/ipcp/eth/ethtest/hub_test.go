package ethtest

import (
	"bytes"
	"errors"
	"net"
	"testing"
	"testing/synctest"
	"time"
)

func frame(dst net.HardwareAddr, src net.HardwareAddr, payload string) []byte {
	b := append(append(append([]byte{}, dst...), src...), 0xA0, 0x00)
	return append(b, payload...)
}

var bcast = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

func read(t *testing.T, p *Port, n int) [][]byte {
	t.Helper()
	bufs := make([][]byte, n)
	for i := range bufs {
		bufs[i] = make([]byte, 64)
	}
	sizes := make([]int, n)
	got, err := p.ReadBatch(bufs, sizes)
	if err != nil {
		t.Fatal(err)
	}
	out := make([][]byte, got)
	for i := range got {
		out[i] = bufs[i][:min(sizes[i], len(bufs[i]))]
	}
	return out
}

func TestHubSwitching(t *testing.T) {
	h := NewHub()
	a, b, c := h.NewPort("a", 1500), h.NewPort("b", 1500), h.NewPort("c", 1500)
	if want := (net.HardwareAddr{2, 0, 0, 0, 0, 2}); !bytes.Equal(b.MAC(), want) {
		t.Fatalf("second port MAC %v, want %v", b.MAC(), want)
	}
	if n, err := a.WriteBatch([][]byte{frame(b.MAC(), a.MAC(), "to b"), frame(bcast, a.MAC(), "all")}); n != 2 || err != nil {
		t.Fatalf("WriteBatch = %d, %v", n, err)
	}
	got := read(t, b, 8)
	if len(got) != 2 || len(got[0]) != minFrame || !bytes.HasPrefix(got[0][14:], []byte("to b")) || !bytes.HasPrefix(got[1][14:], []byte("all")) {
		t.Fatalf("b read %q", got)
	}
	if got := read(t, c, 8); len(got) != 1 || !bytes.HasPrefix(got[0][14:], []byte("all")) {
		t.Fatalf("c read %q, want only the broadcast", got)
	}
	a.WriteBatch([][]byte{frame(net.HardwareAddr{2, 9, 9, 9, 9, 9}, a.MAC(), "nobody")})
	if h.Stats.DropNoPort.Load() != 1 {
		t.Errorf("DropNoPort = %d, want 1", h.Stats.DropNoPort.Load())
	}
	c.SetPromisc(true)
	a.WriteBatch([][]byte{frame(b.MAC(), a.MAC(), "mirrored")})
	if got := read(t, c, 8); len(got) != 1 || !bytes.HasPrefix(got[0][14:], []byte("mirrored")) {
		t.Fatalf("promiscuous c read %q", got)
	}
	read(t, b, 8)
}

func TestHubLimits(t *testing.T) {
	h := NewHub()
	a, b := h.NewPort("a", 100), h.NewPort("b", 1500)
	long := frame(b.MAC(), a.MAC(), string(make([]byte, 101)))
	if n, err := a.WriteBatch([][]byte{long[:114], long}); n != 1 || !errors.Is(err, ErrFrameTooLong) {
		t.Fatalf("WriteBatch over the MTU = %d, %v", n, err)
	}
	if n, err := a.WriteBatch([][]byte{long[:13]}); n != 0 || !errors.Is(err, ErrFrameTooShort) {
		t.Fatalf("WriteBatch of 13 bytes = %d, %v", n, err)
	}
	// Truncation: the size tells the real length.
	bufs, sizes := [][]byte{make([]byte, 20)}, []int{0}
	if n, err := b.ReadBatch(bufs, sizes); n != 1 || err != nil || sizes[0] != 114 {
		t.Fatalf("ReadBatch = %d, %v, size %d; want 1 frame of 114", n, err, sizes[0])
	}
	for range QueueLen + 3 {
		a.WriteBatch([][]byte{frame(b.MAC(), a.MAC(), "x")})
	}
	if h.Stats.DropFull.Load() != 3 {
		t.Errorf("DropFull = %d, want 3", h.Stats.DropFull.Load())
	}
}

// TestPortClose runs in a synctest bubble, so that Close comes once the
// reader is blocked in ReadBatch.
func TestPortClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := NewHub()
		a, b := h.NewPort("a", 1500), h.NewPort("b", 1500)
		errc := make(chan error, 1)
		go func() {
			_, err := b.ReadBatch([][]byte{make([]byte, 64)}, []int{0})
			errc <- err
		}()
		synctest.Wait() // the reader is blocked in ReadBatch
		b.Close()
		select {
		case err := <-errc:
			if !errors.Is(err, net.ErrClosed) {
				t.Fatalf("blocked ReadBatch after Close = %v, want net.ErrClosed", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("ReadBatch did not return after Close")
		}
		if _, err := b.WriteBatch([][]byte{frame(a.MAC(), b.MAC(), "x")}); !errors.Is(err, net.ErrClosed) {
			t.Errorf("WriteBatch after Close = %v", err)
		}
		a.WriteBatch([][]byte{frame(b.MAC(), a.MAC(), "x")}) // b is gone from the hub
		if h.Stats.DropNoPort.Load() != 1 {
			t.Errorf("DropNoPort = %d, want 1", h.Stats.DropNoPort.Load())
		}
		b.Close()
	})
}

// TestPortSilentLoss: a muted port loses what it sends and still receives;
// a cut port loses both ways; neither touches the carrier.
func TestPortSilentLoss(t *testing.T) {
	h := NewHub()
	a, b := h.NewPort("a", 1500), h.NewPort("b", 1500)
	queued := func(p *Port) int {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.n
	}
	send := func(from, to *Port) {
		t.Helper()
		if n, err := from.WriteBatch([][]byte{frame(to.MAC(), from.MAC(), "x")}); n != 1 || err != nil {
			t.Fatalf("WriteBatch = %d, %v; a silent loss is no error", n, err)
		}
	}
	a.Mute(true)
	send(a, b)
	send(b, a)
	if queued(b) != 0 || queued(a) != 1 {
		t.Fatalf("a muted: b holds %d frames, a %d; want 0 and 1", queued(b), queued(a))
	}
	if got := h.Stats.DropMuted.Load(); got != 1 {
		t.Errorf("DropMuted = %d, want 1", got)
	}
	a.Mute(false)
	send(a, b)
	if queued(b) != 1 {
		t.Fatalf("a unmuted: b holds %d frames, want 1", queued(b))
	}
	b.Cut(true)
	send(a, b)
	send(b, a)
	if queued(b) != 1 || queued(a) != 1 {
		t.Fatalf("b cut: b holds %d frames, a %d; want 1 and 1 (nothing new)", queued(b), queued(a))
	}
	select {
	case up := <-a.Carrier():
		t.Errorf("carrier change %v on a silent loss", up)
	case up := <-b.Carrier():
		t.Errorf("carrier change %v on a silent loss", up)
	default:
	}
}
