package dev_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/o7s/ouroboros/stack/dev"
	"github.com/o7s/ouroboros/stack/qos"
)

// A flow with QoS data runs FRCT: both ends have it, and many SDUs of
// many sizes arrive whole and in order, checksummed, while the reader is
// slower than the writer (the window and the reorder queue hold them).
func TestReliableFlowDeliversInOrder(t *testing.T) {
	forBoth(t, func(t *testing.T, direct bool) {
		a, b, _ := pairQoS(t, direct, qos.Data)
		if _, ok := a.FRCT(); !ok {
			t.Fatal("the allocating end has no FRCT")
		}
		if _, ok := b.FRCT(); !ok {
			t.Fatal("the accepting end has no FRCT")
		}
		if b.QoS().Loss != 0 || b.QoS().InOrder != 1 {
			t.Fatalf("accepted QoS %v", b.QoS())
		}
		const n = 3000
		sent := sha256.New()
		errc := make(chan error, 1)
		go func() {
			buf := make([]byte, 4000)
			for i := range n {
				m := buf[:8+(i*37)%3900]
				binary.BigEndian.PutUint64(m, uint64(i))
				for j := 8; j < len(m); j++ {
					m[j] = byte(i ^ j)
				}
				sent.Write(m)
				if _, err := a.Write(m); err != nil {
					errc <- err
					return
				}
			}
			errc <- nil
		}()
		got := sha256.New()
		b.SetReadTimeout(10 * time.Second)
		buf := make([]byte, 4000)
		for i := range n {
			k, err := b.Read(buf)
			if err != nil {
				t.Fatalf("read %d: %v", i, err)
			}
			if seq := binary.BigEndian.Uint64(buf); seq != uint64(i) {
				t.Fatalf("SDU %d arrived as %d", i, seq)
			}
			got.Write(buf[:k])
			if i%500 == 0 {
				time.Sleep(5 * time.Millisecond) // a slow reader: the window closes and opens
			}
		}
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Sum(nil), sent.Sum(nil)) {
			t.Fatal("checksums differ")
		}
		st, _ := a.FRCT()
		t.Logf("sender: %+v", st)
	})
}

// Both directions at once on one reliable flow, with acknowledgements
// carried on the data.
func TestReliableFlowBothWays(t *testing.T) {
	a, b, _ := pairQoS(t, false, qos.Data)
	const n = 2000
	run := func(w, r *dev.Flow, errc chan<- error) {
		go func() {
			m := make([]byte, 100)
			for i := range n {
				binary.BigEndian.PutUint32(m, uint32(i))
				if _, err := w.Write(m); err != nil {
					errc <- err
					return
				}
			}
			errc <- nil
		}()
		go func() {
			buf := make([]byte, 200)
			r.SetReadTimeout(10 * time.Second)
			for i := range n {
				if _, err := r.Read(buf); err != nil {
					errc <- err
					return
				}
				if got := binary.BigEndian.Uint32(buf); got != uint32(i) {
					errc <- errors.New("out of order")
					return
				}
			}
			errc <- nil
		}()
	}
	errc := make(chan error, 4)
	run(a, b, errc)
	run(b, a, errc)
	for range 4 {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
}

// Voice, video and best effort run FRCT without retransmission: SDUs
// arrive in order.
func TestOrderedFlows(t *testing.T) {
	for _, name := range []string{"voice", "video", "best"} {
		t.Run(name, func(t *testing.T) {
			qs, _ := qos.ByName(name)
			a, b, _ := pairQoS(t, false, qs)
			st, ok := a.FRCT()
			if !ok {
				t.Fatal("no FRCT")
			}
			_ = st
			if fl, _ := a.FRCTFlags(); fl&dev.FRCTRetransmit != 0 {
				t.Fatalf("flags %o: retransmission on an unreliable flow", fl)
			}
			b.SetReadTimeout(5 * time.Second)
			buf := make([]byte, 64)
			last := -1
			for i := range 500 { // more than the first window: window updates must come
				binary.BigEndian.PutUint32(buf, uint32(i))
				if _, err := a.Write(buf[:4]); err != nil {
					t.Fatalf("write %d: %v", i, err)
				}
				k, err := b.Read(buf[4:])
				if err != nil {
					t.Fatalf("read %d: %v", i, err)
				}
				got := int(binary.BigEndian.Uint32(buf[4 : 4+k]))
				if got <= last {
					t.Fatalf("%d after %d", got, last)
				}
				last = got
			}
		})
	}
}

// A blocking writer whose reader does not read: the window closes after
// the reorder queue fills, the write waits until its deadline, and reads
// later get everything.
func TestWindowClosesAndOpens(t *testing.T) {
	a, b, _ := pairQoS(t, true, qos.Data)
	a.SetWriteTimeout(300 * time.Millisecond)
	m := make([]byte, 32)
	var written int
	for ; written < 1000; written++ {
		binary.BigEndian.PutUint32(m, uint32(written))
		if _, err := a.Write(m); err != nil {
			if !errors.Is(err, dev.ErrTimeout) {
				t.Fatalf("write %d: %v, want a timeout", written, err)
			}
			break
		}
	}
	if written == 1000 || written < 64 {
		t.Fatalf("wrote %d SDUs to a reader that does not read", written)
	}
	buf := make([]byte, 64)
	b.SetReadTimeout(5 * time.Second)
	for i := range written {
		if _, err := b.Read(buf); err != nil {
			t.Fatalf("read %d of %d: %v", i, written, err)
		}
		if got := binary.BigEndian.Uint32(buf); got != uint32(i) {
			t.Fatalf("read %d got %d", i, got)
		}
	}
	a.SetWriteTimeout(5 * time.Second)
	if _, err := a.Write(m); err != nil { // the window opened again
		t.Fatalf("write after the reads: %v", err)
	}
}

// An FRCT flow in an event set is reported when an SDU is ready, and not
// once it was read.
func TestEventSetWithFRCT(t *testing.T) {
	a, b, _ := pairQoS(t, false, qos.Data)
	s, err := dev.NewEventSet()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Add(b); err != nil {
		t.Fatal(err)
	}
	evs := make([]dev.Event, 4)
	if _, err := s.WaitTimeout(50*time.Millisecond, evs); !errors.Is(err, dev.ErrTimeout) {
		t.Fatalf("wait on an idle flow = %v", err)
	}
	a.Write([]byte("ping"))
	k, err := s.WaitTimeout(5*time.Second, evs)
	if err != nil || k != 1 || evs[0].Flow != b || evs[0].Type != dev.EventPkt {
		t.Fatalf("wait = %d %v %+v", k, err, evs[0])
	}
	buf := make([]byte, 16)
	if n, err := b.Read(buf); err != nil || string(buf[:n]) != "ping" {
		t.Fatalf("read %q %v", buf[:n], err)
	}
	if _, err := s.WaitTimeout(50*time.Millisecond, evs); !errors.Is(err, dev.ErrTimeout) {
		t.Fatalf("wait after the read = %v", err)
	}
}

// Closing a reliable flow lingers until what was written is acknowledged:
// the reader gets every SDU although the writer closed at once.
func TestCloseLingers(t *testing.T) {
	a, b, _ := pairQoS(t, false, qos.Data)
	m := make([]byte, 1000)
	for i := range 200 {
		binary.BigEndian.PutUint32(m, uint32(i))
		if _, err := a.Write(m); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error, 1)
	go func() { done <- a.Close() }()
	buf := make([]byte, 2000)
	b.SetReadTimeout(5 * time.Second)
	for i := range 200 {
		if _, err := b.Read(buf); err != nil {
			t.Fatalf("read %d: %v", i, err)
		}
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("close still lingers after everything was read")
	}
}

func TestFRCTFlagsOnRawFlow(t *testing.T) {
	a, _, _ := pair(t, true)
	if _, ok := a.FRCT(); ok {
		t.Fatal("a raw flow has FRCT")
	}
	if err := a.SetFRCTFlags(dev.FRCTLinger); !errors.Is(err, dev.ErrPermission) {
		t.Fatalf("SetFRCTFlags on a raw flow = %v", err)
	}
	_ = context.Background
}

// Writing and reading an SDU on a reliable flow allocates nothing, clear
// and encrypted.
func TestFRCTReadWriteDoNotAllocate(t *testing.T) {
	for _, conf := range []string{"-", ""} {
		a, b, _, err := pairSec(t, true, qos.Data, secDir(t, "-", conf))
		if err != nil {
			t.Fatal(err)
		}
		msg, buf := make([]byte, 1400), make([]byte, 2048)
		b.SetFlags(dev.FlagRdWr | dev.FlagRNoPart)
		for range 1000 { // let the buffers and the replay filter grow
			a.Write(msg)
			b.Read(buf)
		}
		allocs := testing.AllocsPerRun(1000, func() {
			if _, err := a.Write(msg); err != nil {
				t.Fatal(err)
			}
			if _, err := b.Read(buf); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Fatalf("cipher %q: %v allocations per packet", a.Cipher(), allocs)
		}
	}
}
