package dev_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/o7s/ouroboros/internal/wait"
	"github.com/o7s/ouroboros/stack/ctl"
	"github.com/o7s/ouroboros/stack/dev"
	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/stack/irm"
	"github.com/o7s/ouroboros/stack/qos"
)

// pair returns the two ends of a flow between two clients of one node:
// direct, or through the local IPCP.
func pair(t testing.TB, direct bool) (a, b *dev.Flow, n *irm.Node) {
	t.Helper()
	return pairQoS(t, direct, qos.Raw)
}

// pairQoS is pair with the QoS the client allocates with.
func pairQoS(t testing.TB, direct bool, qs qos.Spec) (a, b *dev.Flow, n *irm.Node) {
	t.Helper()
	a, b, n, err := pairSec(t, direct, qs, "")
	if err != nil {
		t.Fatal(err)
	}
	return a, b, n
}

// pairSec is pairQoS on a node whose security directory is secDir ("":
// none), returning the allocation's error.
func pairSec(t testing.TB, direct bool, qs qos.Spec, secDir string) (a, b *dev.Flow, n *irm.Node, err error) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "irm.sock")
	n, err = irm.Start(irm.Config{Sock: sock, NoDirect: !direct, SecurityDir: secDir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	if !direct {
		id, _ := n.CreateIPCP("lo", ipcp.Local)
		n.BootstrapIPCP(context.Background(), id, ipcp.Config{Layer: "local", Hash: ipcp.SHA3_256})
		n.CreateName("srv", ctl.Spillover)
		n.RegName("srv", id)
	}
	srv, err := dev.DialAs(context.Background(), sock, "srv")
	if err != nil {
		t.Fatal(err)
	}
	cli, err := dev.DialAs(context.Background(), sock, "cli")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close(); cli.Close() })
	if err := n.BindProcess(srv.PID(), "srv"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	acc := make(chan *dev.Flow, 1)
	go func() {
		f, err := srv.Accept(ctx)
		if err != nil && ctx.Err() == nil {
			t.Error(err)
		}
		acc <- f
	}()
	a, err = cli.Alloc(ctx, "srv", qs)
	if err != nil {
		cancel()
		<-acc
		return nil, nil, n, err
	}
	b = <-acc
	if b == nil {
		t.FailNow()
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b, n, nil
}

func forBoth(t *testing.T, fn func(t *testing.T, direct bool)) {
	for _, direct := range []bool{true, false} {
		name := map[bool]string{true: "direct", false: "local-ipcp"}[direct]
		t.Run(name, func(t *testing.T) { fn(t, direct) })
	}
}

func TestReadWriteDoNotAllocate(t *testing.T) {
	forBoth(t, func(t *testing.T, direct bool) {
		a, b, _ := pair(t, direct)
		msg, buf := make([]byte, 64), make([]byte, 2048)
		b.SetFlags(dev.FlagRdWr | dev.FlagRNoPart)
		allocs := testing.AllocsPerRun(1000, func() {
			if _, err := a.Write(msg); err != nil {
				t.Fatal(err)
			}
			if _, err := b.Read(buf); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Fatalf("allocations per packet = %v, want 0", allocs)
		}
	})
}

func TestPartialReads(t *testing.T) {
	forBoth(t, func(t *testing.T, direct bool) {
		a, b, _ := pair(t, direct)
		msg := []byte("0123456789abcdefghij")
		a.Write(msg)
		a.Write([]byte("next"))
		var got []byte
		buf := make([]byte, 8)
		for len(got) < len(msg) {
			n, err := b.Read(buf)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, buf[:n]...)
		}
		if !bytes.Equal(got, msg) {
			t.Fatalf("partial reads gave %q, want %q", got, msg)
		}
		if n, _ := b.Read(buf); string(buf[:n]) != "next" {
			t.Fatalf("next SDU = %q", buf[:n])
		}
		b.SetFlags(dev.FlagRdWr | dev.FlagRNoPart)
		a.Write(msg)
		if _, err := b.Read(buf); !errors.Is(err, dev.ErrMsgSize) {
			t.Fatalf("no-partial read of a long SDU = %v, want ErrMsgSize", err)
		}
	})
}

func TestFlagsAndTimeouts(t *testing.T) {
	a, b, _ := pair(t, true)
	buf := make([]byte, 64)
	b.SetFlags(dev.FlagRdWr | dev.FlagRNoBlock)
	if _, err := b.Read(buf); !errors.Is(err, dev.ErrWouldBlock) {
		t.Fatalf("non-blocking read = %v, want ErrWouldBlock", err)
	}
	b.SetFlags(dev.FlagDefault)
	b.SetReadTimeout(20 * time.Millisecond)
	_, err := b.Read(buf)
	var ne net.Error
	if !errors.Is(err, dev.ErrTimeout) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("read timeout = %v, want ErrTimeout and a net.Error timeout", err)
	}
	a.SetFlags(dev.FlagRdOnly)
	if _, err := a.Write(buf); !errors.Is(err, dev.ErrPermission) {
		t.Fatalf("write on a read-only flow = %v, want ErrPermission", err)
	}
	if err := a.SetFlags(dev.FlagWrOnly | dev.FlagRdWr); !errors.Is(err, dev.ErrInvalid) {
		t.Fatalf("invalid access mode = %v", err)
	}
	a.SetFlags(dev.FlagDefault)
	if _, err := a.Write(make([]byte, dev.MaxSDU+1)); !errors.Is(err, dev.ErrMsgSize) {
		t.Fatalf("oversize write = %v, want ErrMsgSize", err)
	}
}

func TestCloseKeepsWrittenSDUs(t *testing.T) {
	forBoth(t, func(t *testing.T, direct bool) {
		a, b, n := pair(t, direct)
		for i := range 200 {
			a.Write([]byte{byte(i)})
		}
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 8)
		for i := range 200 {
			k, err := b.Read(buf)
			if err != nil || k != 1 || buf[0] != byte(i) {
				t.Fatalf("SDU %d after the peer closed: %d %v", i, k, err)
			}
		}
		if _, err := b.Read(buf); !errors.Is(err, dev.ErrFlowDown) {
			t.Fatalf("read after the last SDU = %v, want ErrFlowDown", err)
		}
		b.Close()
		wait.Until(5*time.Second, func() bool { return len(n.Flows()) == 0 })
		if l := n.Flows(); len(l) > 0 {
			t.Fatalf("flows left: %+v", l)
		}
	})
}

func TestEventSet(t *testing.T) {
	a, b, _ := pair(t, true)
	s, err := dev.NewEventSet()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Add(b); err != nil {
		t.Fatal(err)
	}
	s2, _ := dev.NewEventSet()
	defer s2.Close()
	if err := s2.Add(b); !errors.Is(err, dev.ErrPermission) {
		t.Fatalf("adding a flow to a second set = %v, want ErrPermission", err)
	}
	evs := make([]dev.Event, 8)
	if _, err := s.WaitTimeout(10*time.Millisecond, evs); !errors.Is(err, dev.ErrTimeout) {
		t.Fatalf("wait on an idle set = %v, want ErrTimeout", err)
	}
	a.Write([]byte("x"))
	k, err := s.WaitTimeout(time.Second, evs)
	if err != nil || k != 1 || evs[0].Flow != b || evs[0].Type != dev.EventPkt {
		t.Fatalf("wait = %d %v %+v, want one pkt event on b", k, err, evs[0])
	}
	b.Read(make([]byte, 8))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := s.Wait(ctx, evs); !errors.Is(err, dev.ErrTimeout) {
		t.Fatalf("wait after reading = %v, want ErrTimeout", err)
	}
	a.Close()
	k, err = s.WaitTimeout(time.Second, evs)
	if err != nil || evs[0].Type != dev.EventDealloc {
		t.Fatalf("wait after the peer closed = %d %v %+v, want a dealloc event", k, err, evs[0])
	}
	ctx2, cancel2 := context.WithCancel(context.Background())
	time.AfterFunc(10*time.Millisecond, cancel2)
	s.Remove(b)
	if _, err := s.Wait(ctx2, evs); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled wait = %v, want context.Canceled", err)
	}
}

func TestWaitTimeoutDoesNotAllocate(t *testing.T) {
	a, b, _ := pair(t, true)
	s, _ := dev.NewEventSet()
	defer s.Close()
	s.Add(b)
	evs, msg, buf := make([]dev.Event, 8), make([]byte, 64), make([]byte, 128)
	allocs := testing.AllocsPerRun(500, func() {
		a.Write(msg)
		if _, err := s.WaitTimeout(time.Second, evs); err != nil {
			t.Fatal(err)
		}
		b.Read(buf)
	})
	if allocs != 0 {
		t.Fatalf("allocations per event = %v, want 0", allocs)
	}
}

func TestNetAdapters(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "irm.sock")
	n, err := irm.Start(irm.Config{Sock: sock})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	c, err := dev.DialAs(context.Background(), sock, "app")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	n.BindProcess(c.PID(), "echo")
	var l net.Listener = c.Listen()
	go func() {
		conn, err := l.Accept()
		if err != nil {
			return
		}
		io.Copy(conn, conn)
		conn.Close()
	}()
	f, err := c.Alloc(context.Background(), "echo", qos.Raw)
	if err != nil {
		t.Fatal(err)
	}
	var conn net.Conn = f
	conn.Write([]byte("hello"))
	buf := make([]byte, 16)
	k, err := conn.Read(buf)
	if err != nil || string(buf[:k]) != "hello" || conn.RemoteAddr().String() != "echo" {
		t.Fatalf("echo = %q %v remote %v", buf[:k], err, conn.RemoteAddr())
	}
	conn.Close()
	l.Close()
	if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after Close = %v, want net.ErrClosed", err)
	}
}

func BenchmarkFlowRoundTrip(b *testing.B) {
	for _, direct := range []bool{true, false} {
		b.Run(map[bool]string{true: "direct", false: "local-ipcp"}[direct], func(b *testing.B) {
			x, y, _ := pair(b, direct)
			go func() {
				buf := make([]byte, 2048)
				for {
					k, err := y.Read(buf)
					if err != nil {
						return
					}
					y.Write(buf[:k])
				}
			}()
			msg, buf := make([]byte, 64), make([]byte, 2048)
			b.ReportAllocs()
			for b.Loop() {
				x.Write(msg)
				x.Read(buf)
			}
		})
	}
}

// Turning a timeout off takes the deadline it set away again.
func TestTimeoutOff(t *testing.T) {
	a, b, _ := pair(t, true)
	buf := make([]byte, 8)
	b.SetReadTimeout(10 * time.Millisecond)
	if _, err := b.Read(buf); !errors.Is(err, dev.ErrTimeout) {
		t.Fatalf("timed read = %v", err)
	}
	b.SetReadTimeout(0)
	time.AfterFunc(50*time.Millisecond, func() { a.Write([]byte("late")) })
	if n, err := b.Read(buf); err != nil || string(buf[:n]) != "late" {
		t.Fatalf("read with the timeout off = %q, %v; want the late SDU", buf[:n], err)
	}
	a.SetWriteTimeout(time.Nanosecond)
	a.Write([]byte("x")) // may time out
	a.SetWriteTimeout(0)
	if _, err := a.Write([]byte("y")); err != nil {
		t.Fatalf("write with the timeout off = %v", err)
	}
}
