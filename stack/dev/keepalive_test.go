package dev_test

import (
	"errors"
	"testing"
	"time"

	"github.com/o7s/ouroboros/stack/dev"
	"github.com/o7s/ouroboros/stack/qos"
)

// A peer that sends nothing, not even keepalives, for the QoS's peer
// timeout ends the flow: a blocked Read returns ErrFlowPeer after what was
// queued, Write returns it too, and the event set gets EventPeer. A peer
// that is idle but alive keeps the flow up with its keepalives.
func TestPeerTimeout(t *testing.T) {
	for _, name := range []string{"raw", "data"} {
		t.Run(name, func(t *testing.T) {
			qs, _ := qos.ByName(name)
			qs.Timeout = 400 // ms
			a, b, _ := pairQoS(t, false, qs)
			buf := make([]byte, 64)

			// Idle but alive: keepalives every 100 ms keep both ends up.
			a.SetReadTimeout(900 * time.Millisecond)
			if _, err := a.Read(buf); !errors.Is(err, dev.ErrTimeout) {
				t.Fatalf("read on an idle live flow = %v, want a timeout", err)
			}

			b.Write([]byte("last words"))
			dev.StopKeepalives(b)
			a.SetReadTimeout(0)
			s, err := dev.NewEventSet()
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			start := time.Now()
			if n, err := a.Read(buf); err != nil || string(buf[:n]) != "last words" {
				t.Fatalf("queued SDU: %q %v", buf[:n], err)
			}
			if err := s.Add(a); err != nil {
				t.Fatal(err)
			}
			_, err = a.Read(buf)
			if !errors.Is(err, dev.ErrFlowPeer) {
				t.Fatalf("read from a silent peer = %v, want ErrFlowPeer", err)
			}
			if d := time.Since(start); d < 300*time.Millisecond || d > 3*time.Second {
				t.Errorf("the silent peer was noticed after %v, with a 400 ms timeout", d)
			}
			if _, err := a.Write(buf[:4]); !errors.Is(err, dev.ErrFlowPeer) {
				t.Fatalf("write to a silent peer = %v, want ErrFlowPeer", err)
			}
			evs := make([]dev.Event, 4)
			k, err := s.WaitTimeout(time.Second, evs)
			var peer bool
			for _, ev := range evs[:k] {
				peer = peer || ev.Type == dev.EventPeer
			}
			if err != nil || !peer {
				t.Fatalf("events %v %v, want EventPeer", evs[:k], err)
			}
		})
	}
}
