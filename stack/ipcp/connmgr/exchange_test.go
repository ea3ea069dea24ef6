package connmgr

import (
	"bytes"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/o7s/ouroboros/stack/seqpkt"
	"github.com/o7s/ouroboros/stack/seqpkt/seqpkttest"
)

func pair(t testing.TB) (*seqpkt.Conn, *seqpkt.Conn) {
	t.Helper()
	a, b, err := seqpkt.Pair()
	if errors.Is(err, errors.ErrUnsupported) {
		t.Skip("seqpkt: no flow channel on this platform")
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// lookupOf answers for the given components, as an IPCP's connmgr does.
func lookupOf(comps ...Info) func(string) (Info, bool) {
	return func(name string) (Info, bool) {
		for _, c := range comps {
			if c.Comp == name {
				return c, true
			}
		}
		return Info{}, false
	}
}

type respondResult struct {
	local, peer Info
	err         error
}

func respondAsync(c Conn, lookup func(string) (Info, bool)) <-chan respondResult {
	ch := make(chan respondResult, 1)
	go func() {
		l, p, err := Respond(c, lookup)
		ch <- respondResult{l, p, err}
	}()
	return ch
}

// wait bounds every exchange: both ends must come back on their own.
func wait[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatal("exchange did not end")
		panic("unreachable")
	}
}

func TestInitiateRespond(t *testing.T) {
	const (
		addrA = 0x0a0b0c0d
		addrB = 0x11223344
	)
	for _, tc := range []struct {
		name          string
		local, remote Info
	}{
		{"DT", withAddr(DT, addrA), withAddr(DT, addrB)},
		{"Management", withAddr(Management, addrA), withAddr(Management, addrB)},
		{"Enrollment", Enrollment, Enrollment},
		{"BroadcastDT", BroadcastDT, BroadcastDT},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := pair(t)
			ch := respondAsync(b, lookupOf(tc.remote))
			peer, err := Initiate(a, tc.local)
			if err != nil {
				t.Fatalf("Initiate: %v", err)
			}
			if peer != tc.remote {
				t.Errorf("initiator learnt %+v, want %+v", peer, tc.remote)
			}
			r := wait(t, ch)
			if r.err != nil {
				t.Fatalf("Respond: %v", r.err)
			}
			if r.local != tc.remote || r.peer != tc.local {
				t.Errorf("Respond = %+v, %+v; want %+v, %+v", r.local, r.peer, tc.remote, tc.local)
			}
		})
	}
}

// TestWireBytes checks what each side actually puts on the flow.
func TestWireBytes(t *testing.T) {
	a, b := pair(t)
	ch := respondAsync(b, lookupOf(withAddr(Management, testAddr)))
	if err := a.Write(goldenMgmt); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 256)
	a.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := a.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf[:n], goldenMgmt) {
		t.Errorf("responder sent % x, want % x", buf[:n], goldenMgmt)
	}
	if r := wait(t, ch); r.err != nil || r.peer != withAddr(Management, testAddr) {
		t.Errorf("Respond = %+v", r)
	}

	// And the initiator's first packet.
	a2, b2 := pair(t)
	done := make(chan error, 1)
	go func() { _, err := Initiate(a2, withAddr(DT, testAddr)); done <- err }()
	b2.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err = b2.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf[:n], goldenDT) {
		t.Errorf("initiator sent % x, want % x", buf[:n], goldenDT)
	}
	b2.Write(goldenDT)
	if err := wait(t, done); err != nil {
		t.Errorf("Initiate: %v", err)
	}
}

func TestMismatch(t *testing.T) {
	for _, tc := range []struct {
		name   string
		remote Info
	}{
		{"protocol", Info{Comp: DT.Comp, Protocol: "dtp2", Version: 1, Syntax: SyntaxFixed}},
		{"version", Info{Comp: DT.Comp, Protocol: "dtp", Version: 2, Syntax: SyntaxFixed}},
		{"syntax", Info{Comp: DT.Comp, Protocol: "dtp", Version: 1, Syntax: SyntaxGPB}},
		{"broadcast vs unicast", BroadcastDT},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := pair(t)
			ch := respondAsync(b, lookupOf(tc.remote))
			peer, err := Initiate(a, withAddr(DT, 7))
			if !errors.Is(err, ErrMismatch) {
				t.Fatalf("Initiate = %v, want ErrMismatch", err)
			}
			if peer != tc.remote {
				t.Errorf("initiator reports peer %+v, want %+v", peer, tc.remote)
			}
			// The passive side does not judge (neither does the
			// reference): it answers and hands the flow on; the active
			// side then releases it, which the passive side sees.
			r := wait(t, ch)
			if r.err != nil {
				t.Fatalf("Respond: %v", r.err)
			}
			a.Close()
			b.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := b.Read(make([]byte, 16)); !errors.Is(err, seqpkt.ErrPeerClosed) {
				t.Errorf("responder's flow after release: %v, want ErrPeerClosed", err)
			}
		})
	}
}

func TestUnknownComponent(t *testing.T) {
	a, b := pair(t)
	ch := respondAsync(b, lookupOf(withAddr(DT, 1), Enrollment))
	peer, err := Initiate(a, withAddr(Management, 9))
	if !errors.Is(err, ErrUnknown) {
		t.Fatalf("Initiate = %v, want ErrUnknown", err)
	}
	if peer != (Info{}) {
		t.Errorf("initiator reports peer %+v, want an empty one", peer)
	}
	r := wait(t, ch)
	if !errors.Is(r.err, ErrUnknown) {
		t.Errorf("Respond = %v, want ErrUnknown", r.err)
	}
	if r.peer != withAddr(Management, 9) || r.local != (Info{}) {
		t.Errorf("Respond = %+v, %+v", r.local, r.peer)
	}
}

// TestUnknownComponentWire: the refusal is the all-empty cep_msg.
func TestUnknownComponentWire(t *testing.T) {
	a, b := pair(t)
	ch := respondAsync(b, lookupOf())
	a.Write(cat([]byte{0x0a, 0x03}, []byte("foo"), goldenEmpty[2:]))
	buf := make([]byte, 256)
	a.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := a.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf[:n], goldenEmpty) {
		t.Errorf("refusal % x, want % x", buf[:n], goldenEmpty)
	}
	if r := wait(t, ch); !errors.Is(r.err, ErrUnknown) || r.peer.Comp != "foo" {
		t.Errorf("Respond = %+v", r)
	}
}

// TestInitiateEmptyReplyIsUnknown: the reference's refusal (all fields
// empty or zero) reaches the initiator as ErrUnknown, also for the broadcast
// DT component whose protocol, version and syntax are empty or zero too.
func TestInitiateEmptyReplyIsUnknown(t *testing.T) {
	for _, local := range []Info{withAddr(DT, 3), BroadcastDT, Enrollment} {
		a, b := pair(t)
		go func() {
			b.SetReadDeadline(time.Now().Add(5 * time.Second))
			b.Read(make([]byte, MaxMsg))
			b.Write(goldenEmpty)
		}()
		if _, err := Initiate(a, local); !errors.Is(err, ErrUnknown) {
			t.Errorf("%s: Initiate = %v, want ErrUnknown", local.Comp, err)
		}
	}
}

func TestMalformedReply(t *testing.T) {
	a, b := pair(t)
	go func() {
		b.SetReadDeadline(time.Now().Add(5 * time.Second))
		b.Read(make([]byte, MaxMsg))
		b.Write([]byte{0xff, 0x01})
	}()
	if _, err := Initiate(a, withAddr(DT, 3)); !errors.Is(err, ErrMsg) {
		t.Errorf("Initiate = %v, want ErrMsg", err)
	}
}

func TestMalformedRequest(t *testing.T) {
	a, b := pair(t)
	ch := respondAsync(b, lookupOf(DT))
	a.Write(goldenDT[:len(goldenDT)-6]) // no address: required field missing
	r := wait(t, ch)
	if !errors.Is(r.err, ErrMsg) {
		t.Errorf("Respond = %v, want ErrMsg", r.err)
	}
	// Nothing is answered to a malformed request.
	a.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if n, err := a.Read(make([]byte, 64)); err == nil {
		t.Errorf("responder answered %d bytes", n)
	}
}

// TestLargestMessage: a cep_msg of exactly MaxMsg bytes is read whole.
func TestLargestMessage(t *testing.T) {
	comp := string(bytes.Repeat([]byte{'c'}, 115))
	in := Info{Comp: comp, Protocol: "dtp", Version: 1, Syntax: 2}
	if n := len(in.Marshal()); n != MaxMsg {
		t.Fatalf("test message is %d bytes, want %d", n, MaxMsg)
	}
	a, b := pair(t)
	ch := respondAsync(b, lookupOf(in))
	peer, err := Initiate(a, in)
	if err != nil || peer != in {
		t.Fatalf("Initiate = %+v, %v", peer, err)
	}
	if r := wait(t, ch); r.err != nil || r.peer != in {
		t.Errorf("Respond = %+v", r)
	}
}

// TestRespondTimeout runs in a synctest bubble over an in-memory flow, so
// the exchange's deadline passes in virtual time.
func TestRespondTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, b := seqpkttest.Pipe()
		t0 := time.Now()
		ch := respondAsync(b, lookupOf(DT))
		r := wait(t, ch)
		el := time.Since(t0)
		if r.err == nil {
			t.Fatal("Respond succeeded without a message")
		}
		if el < Timeout-50*time.Millisecond || el > Timeout+time.Second {
			t.Errorf("Respond gave up after %v, want about %v", el, Timeout)
		}
	})
}

// TestInitiateTimeout is TestRespondTimeout for the active side.
func TestInitiateTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, _ := seqpkttest.Pipe()
		t0 := time.Now()
		done := make(chan error, 1)
		go func() { _, err := Initiate(a, DT); done <- err }()
		err := wait(t, done)
		el := time.Since(t0)
		if err == nil {
			t.Fatal("Initiate succeeded without a reply")
		}
		if el < Timeout-50*time.Millisecond || el > Timeout+time.Second {
			t.Errorf("Initiate gave up after %v, want about %v", el, Timeout)
		}
	})
}

// TestPeerGoneEndsAtOnce: a released flow ends the wait without the timeout.
func TestPeerGoneEndsAtOnce(t *testing.T) {
	a, b := pair(t)
	ch := respondAsync(b, lookupOf(DT))
	a.Close()
	t0 := time.Now()
	r := wait(t, ch)
	if !errors.Is(r.err, seqpkt.ErrPeerClosed) {
		t.Errorf("Respond = %v, want ErrPeerClosed", r.err)
	}
	if el := time.Since(t0); el > Timeout/2 {
		t.Errorf("took %v", el)
	}

	a2, b2 := pair(t)
	b2.Close()
	if _, err := Initiate(a2, DT); err == nil {
		t.Error("Initiate on a released flow succeeded")
	}
}

// TestDeadlineCleared: once the exchange is over the flow has no read
// deadline left (the reference clears FLOWSRCVTIMEO), so the component that
// takes the flow can wait as long as it likes. It runs in a synctest bubble
// over an in-memory flow, where the wait past the deadline takes no time.
func TestDeadlineCleared(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := seqpkttest.Pipe()
		ch := respondAsync(b, lookupOf(DT))
		if _, err := Initiate(a, DT); err != nil {
			t.Fatal(err)
		}
		if r := wait(t, ch); r.err != nil {
			t.Fatal(r.err)
		}
		time.Sleep(Timeout + 100*time.Millisecond) // past any deadline the exchange left
		got := make(chan error, 2)
		for _, c := range []*seqpkttest.Conn{a, b} {
			go func() {
				_, err := c.Read(make([]byte, 8))
				got <- err
			}()
		}
		synctest.Wait() // both readers wait for a packet (or have failed)
		a.Write([]byte("x"))
		b.Write([]byte("y"))
		for range 2 {
			if err := wait(t, got); err != nil {
				t.Errorf("read after the exchange: %v", err)
			}
		}
	})
}
