package sim

import (
	"bytes"
	"context"
	"encoding/binary"
	"sync"
	"testing"
	"time"

	"github.com/o7s/ouroboros/stack/ctl"
	"github.com/o7s/ouroboros/stack/dev"
	"github.com/o7s/ouroboros/stack/qos"
)

// echoServer binds a server on nd to name, registers it in unicast layer
// layer and echoes every flow it accepts.
func echoServer(t testing.TB, nd *Node, layer, name string) {
	t.Helper()
	serveEcho(t, nd, name, nd.Unicast[layer])
}

// serveEcho binds a server on nd to name, registers it through IPCP id and
// echoes every flow it accepts.
func serveEcho(t testing.TB, nd *Node, name string, id uint32) {
	t.Helper()
	serve(t, nd, "echo", name, id, func(f *dev.Flow, sdu []byte) { f.Write(sdu) })
}

// sinkServer binds a server on nd to name, registers it in unicast layer
// layer and drops what every flow it accepts carries.
func sinkServer(t testing.TB, nd *Node, layer, name string) {
	t.Helper()
	serve(t, nd, "sink", name, nd.Unicast[layer], func(*dev.Flow, []byte) {})
}

// serve runs program prog on nd, bound to name and registered through
// IPCP id, and calls handle with every SDU of every flow it accepts.
func serve(t testing.TB, nd *Node, prog, name string, id uint32, handle func(f *dev.Flow, sdu []byte)) {
	t.Helper()
	srv, err := dev.DialAs(context.Background(), nd.Sock, prog)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	nd.N.CreateName(name, ctl.RoundRobin)
	if err := nd.N.BindProcess(srv.PID(), name); err != nil {
		t.Fatal(err)
	}
	if err := nd.N.RegName(name, id); err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			f, err := srv.Accept(context.Background())
			if err != nil {
				return
			}
			go func() {
				buf := make([]byte, dev.MaxSDU)
				for {
					k, err := f.Read(buf)
					if err != nil {
						return
					}
					handle(f, buf[:k])
				}
			}()
		}
	}()
}

// dial allocates a flow from nd to name, retrying while the directory
// has not learnt it.
func dial(t testing.TB, nd *Node, name string) *dev.Flow {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := dev.DialAs(ctx, nd.Sock, "client")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	nd.N.CreateName(name, ctl.RoundRobin)
	for {
		actx, acancel := context.WithTimeout(ctx, 3*time.Second) // a request or reply may be lost
		f, err := c.Alloc(actx, name, qos.Raw)
		acancel()
		if err == nil {
			t.Cleanup(func() { f.Close() })
			return f
		}
		if ctx.Err() != nil {
			t.Fatalf("alloc %s from %s: %v", name, nd.Name, err)
		}
		time.Sleep(50 * time.Millisecond) // paces the retries: the alloc is the only probe of the directory
	}
}

// ping sends seq and waits for its echo.
func ping(f *dev.Flow, seq uint64, timeout time.Duration) bool {
	var b [64]byte
	binary.BigEndian.PutUint64(b[:], seq)
	if _, err := f.Write(b[:]); err != nil {
		return false
	}
	deadline := time.Now().Add(timeout)
	r := make([]byte, 128)
	for {
		f.SetReadDeadline(deadline)
		k, err := f.Read(r)
		if err != nil {
			return false
		}
		if bytes.Equal(r[:k], b[:]) {
			return true
		}
	}
}

// reach allocates a flow to name from every node of from, all at once, as
// many users would: each node tries up to tries times, a second apart
// (each try may take 10 s: a loaded machine answers slowly, and a slow
// answer is not what this measures), and closes the flow it gets. It
// returns, for each node, the try on which it first got a flow (1 is the
// first), or 0 if it never did, and the errors of the tries that failed.
func reach(t testing.TB, from []*Node, name string, tries int) ([]int, [][]error) {
	t.Helper()
	got, errs := make([]int, len(from)), make([][]error, len(from))
	var wg sync.WaitGroup
	for i, nd := range from {
		c, err := dev.DialAs(context.Background(), nd.Sock, "client")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		nd.N.CreateName(name, ctl.RoundRobin)
		wg.Go(func() {
			for try := 1; try <= tries; try++ {
				if try > 1 {
					time.Sleep(time.Second) // paces the tries, as a user would
				}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				f, err := c.Alloc(ctx, name, qos.Raw)
				cancel()
				if err == nil {
					f.Close()
					got[i] = try
					return
				}
				errs[i] = append(errs[i], err)
			}
		})
	}
	wg.Wait()
	return got, errs
}

// allocOnce allocates a flow from nd to name once, without retrying, and
// closes it.
func allocOnce(ctx context.Context, nd *Node, name string) (time.Duration, error) {
	c, err := dev.DialAs(ctx, nd.Sock, "client")
	if err != nil {
		return 0, err
	}
	defer c.Close()
	start := time.Now()
	f, err := c.Alloc(ctx, name, qos.Raw)
	if err != nil {
		return 0, err
	}
	f.Close()
	return time.Since(start), nil
}
