package eth_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/o7s/ouroboros/internal/wait"
	"github.com/o7s/ouroboros/stack/dev"
	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/stack/ipcp/eth"
	"github.com/o7s/ouroboros/stack/ipcp/eth/ethtest"
	"github.com/o7s/ouroboros/stack/irm"
	"github.com/o7s/ouroboros/stack/qos"
)

// The production constructors fit irm's injection point as they are.
var (
	_ irm.Constructor = eth.NewDIX
	_ irm.Constructor = eth.NewLLC
)

// ethNode is an irm node whose one IPCP is an Ethernet IPCP on the hub.
type ethNode struct {
	n    *irm.Node
	sock string
	id   uint32
	p    *eth.IPCP
	port *ethtest.Port
}

// startEthNode starts a node whose IPCP of type typ sits on a new port
// of the hub.
func startEthNode(t *testing.T, hub *ethtest.Hub, typ ipcp.Type, dev string) *ethNode {
	t.Helper()
	return startNodeWith(t, typ, dev, dev, func(nd *ethNode) eth.OpenFunc { return hubOpen(hub, 1500, &nd.port) })
}

// startNodeWith starts a node on its own socket with the IPCP type made by
// eth.New over the link open gives (irm would call eth.NewDIX or
// eth.NewLLC, which open AF_PACKET), and bootstraps it in layer "eth".
func startNodeWith(t *testing.T, typ ipcp.Type, name, dev string, open func(*ethNode) eth.OpenFunc) *ethNode {
	t.Helper()
	nd := &ethNode{sock: filepath.Join(t.TempDir(), "irm.sock")}
	ctor := func(id uint32, irmI ipcp.IRM, log *slog.Logger) ipcp.IPCP {
		nd.p = eth.New(typ, id, irmI, log, open(nd))
		return nd.p
	}
	cfg := irm.Config{Sock: nd.sock, Constructors: map[ipcp.Type]irm.Constructor{typ: ctor}}
	if testing.Verbose() {
		cfg.Log = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug})).With("node", name)
	}
	n, err := irm.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	nd.n = n
	if nd.id, err = n.CreateIPCP("e-"+name, typ); err != nil {
		t.Fatal(err)
	}
	conf := ipcp.Config{Layer: "eth", Hash: ipcp.SHA3_256, Eth: &ipcp.EthConfig{Dev: dev}}
	if err := n.BootstrapIPCP(context.Background(), nd.id, conf); err != nil {
		t.Fatal(err)
	}
	return nd
}

func (nd *ethNode) attach(t *testing.T, prog string) *dev.Client {
	t.Helper()
	c, err := dev.DialAs(context.Background(), nd.sock, prog)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// serve binds a process to name, registers it in the layer and echoes the
// count flows it accepts; each is sent on the returned channel.
func (nd *ethNode) serve(t *testing.T, name string, count int) <-chan *dev.Flow {
	t.Helper()
	srv := nd.attach(t, "srv")
	if err := nd.n.BindProcess(srv.PID(), name); err != nil {
		t.Fatal(err)
	}
	if err := nd.n.RegName(name, nd.id); err != nil {
		t.Fatal(err)
	}
	flows := make(chan *dev.Flow, 16)
	go func() {
		for range count {
			f, err := srv.Accept(context.Background())
			if err != nil {
				return
			}
			flows <- f
			go echo(f)
		}
	}()
	return flows
}

func echo(f *dev.Flow) {
	buf := make([]byte, dev.MaxSDU)
	for {
		n, err := f.Read(buf)
		if err != nil {
			return
		}
		if _, err := f.Write(buf[:n]); err != nil {
			return
		}
	}
}

// checkEcho sends count SDUs of varied sizes and checks each echo's digest.
func checkEcho(t *testing.T, f *dev.Flow, count, tag int) {
	t.Helper()
	buf := make([]byte, dev.MaxSDU)
	f.SetReadTimeout(5 * time.Second)
	for i := range count {
		msg := bytes.Repeat([]byte{byte(i + tag)}, 1+(i*37+tag)%1400)
		sum := sha256.Sum256(msg)
		if _, err := f.Write(msg); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		n, err := f.Read(buf)
		if err != nil {
			t.Fatalf("read %d: %v", i, err)
		}
		if sha256.Sum256(buf[:n]) != sum {
			t.Fatalf("echo %d: digest differs (%d bytes, want %d)", i, n, len(msg))
		}
	}
}

func waitEmpty(t *testing.T, nodes ...*ethNode) {
	t.Helper()
	for _, nd := range nodes {
		if !wait.Until(5*time.Second, func() bool { return len(nd.n.Flows()) == 0 && nd.p.NumFlows() == 0 }) {
			t.Fatalf("node flows %+v, IPCP holds %d", nd.n.Flows(), nd.p.NumFlows())
		}
	}
}

func accepted(t *testing.T, flows <-chan *dev.Flow) *dev.Flow {
	t.Helper()
	select {
	case f := <-flows:
		return f
	case <-time.After(5 * time.Second):
		t.Fatal("no flow accepted")
	}
	return nil
}

func TestNodesEcho(t *testing.T) {
	forTypes(t, func(t *testing.T, typ ipcp.Type) {
		noLeaks(t)
		hub := ethtest.NewHub()
		a, b := startEthNode(t, hub, typ, "a0"), startEthNode(t, hub, typ, "b0")
		flows := b.serve(t, "srv", 1)
		cli := a.attach(t, "cli")
		f, err := cli.Alloc(ctxT(t, 5*time.Second), "srv", qos.Raw)
		if err != nil {
			t.Fatal(err)
		}
		if f.Direct() || f.MPL() != eth.MPL {
			t.Errorf("flow direct=%v mpl=%v, want through the layer with MPL %v", f.Direct(), f.MPL(), eth.MPL)
		}
		sf := accepted(t, flows)
		checkEcho(t, f, 1000, 0)
		if got := a.p.Stats.TxSDUs.Load(); got != 1000 {
			t.Errorf("a sent %d SDUs, want 1000", got)
		}
		f.Close()
		sf.Close()
		waitEmpty(t, a, b)
	})
}

func TestNodesThree(t *testing.T) {
	forTypes(t, func(t *testing.T, typ ipcp.Type) {
		noLeaks(t)
		hub := ethtest.NewHub()
		a, b, c := startEthNode(t, hub, typ, "a0"), startEthNode(t, hub, typ, "b0"), startEthNode(t, hub, typ, "c0")
		srvB, srvC := b.serve(t, "srv-b", 3), c.serve(t, "srv-c", 1)
		cliA, cliC := a.attach(t, "cli"), c.attach(t, "cli")
		var mu sync.Mutex
		var all []*dev.Flow
		var wg sync.WaitGroup
		for i, job := range []struct {
			cli  *dev.Client
			name string
		}{{cliA, "srv-b"}, {cliA, "srv-c"}, {cliC, "srv-b"}, {cliA, "srv-b"}} {
			wg.Go(func() {
				f, err := job.cli.Alloc(ctxT(t, 5*time.Second), job.name, qos.Raw)
				if err != nil {
					t.Errorf("alloc %s: %v", job.name, err)
					return
				}
				mu.Lock()
				all = append(all, f)
				mu.Unlock()
				checkEcho(t, f, 300, i*7)
			})
		}
		wg.Wait()
		if t.Failed() {
			return
		}
		for range 3 {
			all = append(all, accepted(t, srvB))
		}
		all = append(all, accepted(t, srvC))
		for _, f := range all {
			f.Close()
		}
		waitEmpty(t, a, b, c)
	})
}

func TestNodeUnknownName(t *testing.T) {
	noLeaks(t)
	hub := ethtest.NewHub()
	a, _ := startEthNode(t, hub, ipcp.EthDIX, "a0"), startEthNode(t, hub, ipcp.EthDIX, "b0")
	cli := a.attach(t, "cli")
	start := time.Now()
	_, err := cli.Alloc(ctxT(t, 5*time.Second), "nobody", qos.Raw)
	if d := time.Since(start); !errors.Is(err, dev.ErrIPCP) || d > time.Second {
		t.Fatalf("Alloc(nobody) = %v after %v, want ErrIPCP within the 200 ms query timeout", err, d)
	}
	waitEmpty(t, a)
}

// TestNodesMalformedAndOversize injects bad frames into the hub towards b
// and writes an SDU over the MTU at a: each is dropped and counted, and the
// flow carries on.
func TestNodesMalformedAndOversize(t *testing.T) {
	forTypes(t, func(t *testing.T, typ ipcp.Type) {
		noLeaks(t)
		hub := ethtest.NewHub()
		a, b := startEthNode(t, hub, typ, "a0"), startEthNode(t, hub, typ, "b0")
		flows := b.serve(t, "srv", 1)
		f, err := a.attach(t, "cli").Alloc(ctxT(t, 5*time.Second), "srv", qos.Raw)
		if err != nil {
			t.Fatal(err)
		}
		sf := accepted(t, flows)
		checkEcho(t, f, 10, 1)
		evil := hub.NewPort("evil", 9000)
		t.Cleanup(func() { evil.Close() })
		frames, want := badFrames(typ == ipcp.EthLLC, b.p, eth.MAC(b.port.MAC()), eth.MAC(a.port.MAC()), eth.MAC(evil.MAC()))
		writeFrames(t, evil, frames...)
		for name, c := range want {
			wait.For(t, fmt.Sprintf("%s = %d", name, c.n), func() bool { return c.ctr.Load() == c.n })
		}
		// The flow knows the layer's maximum: oversize SDUs are refused
		// by Write and never reach the IPCP (which drops and counts what
		// a program without the library sends: ipcp_test.go).
		max := a.p.MaxSDU()
		if f.MaxSDU() != max {
			t.Errorf("flow MaxSDU %d, want the layer's %d", f.MaxSDU(), max)
		}
		for _, n := range []int{max + 1, 4000} {
			if _, err := f.Write(make([]byte, n)); !errors.Is(err, dev.ErrMsgSize) {
				t.Fatalf("an SDU of %d bytes: %v, want ErrMsgSize", n, err)
			}
		}
		checkEcho(t, f, 10, 2) // the echo order shows nothing oversize got through
		if n := a.p.Stats.DropTooLong.Load(); n != 0 {
			t.Errorf("DropTooLong = %d, want 0", n)
		}
		for name, c := range want { // and nothing else was counted meanwhile
			if got := c.ctr.Load(); got != c.n {
				t.Errorf("%s = %d, want %d", name, got, c.n)
			}
		}
		f.Close()
		sf.Close()
		waitEmpty(t, a, b)
	})
}

// TestLinkDownReachesApplications: the carrier of node a's link goes down.
// The application on a is told (the node's notification on its session):
// queued SDUs still come, then reads and writes fail with ErrFlowDown, a
// blocked reader wakes, its event set gets EventDown; when the carrier
// returns, the flow works again.
func TestLinkDownReachesApplications(t *testing.T) {
	noLeaks(t)
	hub := ethtest.NewHub()
	a, b := startEthNode(t, hub, ipcp.EthDIX, "a0"), startEthNode(t, hub, ipcp.EthDIX, "b0")
	flows := b.serve(t, "srv", 1)
	cli := a.attach(t, "cli")
	f, err := cli.Alloc(ctxT(t, 5*time.Second), "srv", qos.Raw)
	if err != nil {
		t.Fatal(err)
	}
	sf := accepted(t, flows)
	defer sf.Close()
	set, err := dev.NewEventSet()
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	set.Add(f)
	sf.Write([]byte("queued"))
	evs := make([]dev.Event, 4)
	if k, err := set.WaitTimeout(2*time.Second, evs); err != nil || evs[0].Type != dev.EventPkt {
		t.Fatalf("wait for the queued SDU = %d %v %+v", k, err, evs[0])
	}

	a.port.SetCarrier(false)
	var sawDown bool
	for deadline := time.Now().Add(2 * time.Second); !sawDown && time.Now().Before(deadline); {
		k, _ := set.WaitTimeout(100*time.Millisecond, evs)
		for _, ev := range evs[:k] {
			sawDown = sawDown || ev.Type == dev.EventDown
		}
	}
	if !sawDown || !f.Down() {
		t.Fatalf("no EventDown (saw %v, Down() = %v)", sawDown, f.Down())
	}
	buf := make([]byte, 64)
	if n, err := f.Read(buf); err != nil || string(buf[:n]) != "queued" {
		t.Fatalf("read of the SDU queued before the link went down = %q, %v", buf[:n], err)
	}
	if _, err := f.Read(buf); !errors.Is(err, dev.ErrFlowDown) {
		t.Fatalf("read with the link down = %v, want ErrFlowDown", err)
	}
	if _, err := f.Write([]byte("x")); !errors.Is(err, dev.ErrFlowDown) {
		t.Fatalf("write with the link down = %v, want ErrFlowDown", err)
	}

	a.port.SetCarrier(true)
	wait.For(t, "the flow up again", func() bool { return !f.Down() })
	readErr := make(chan error, 1)
	go func() { _, err := f.Read(buf); readErr <- err }() // blocks: nothing queued
	a.port.SetCarrier(false)
	select {
	case err := <-readErr:
		if !errors.Is(err, dev.ErrFlowDown) {
			t.Fatalf("blocked read woken by the link going down = %v, want ErrFlowDown", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("a blocked read was not woken when the link went down")
	}
	a.port.SetCarrier(true)
	wait.For(t, "the flow up again", func() bool { return !f.Down() })
	checkEcho(t, f, 10, 0)
	f.Close()
}

// With room for one event per Wait, the EventDown of every flow of the set
// still comes, one Wait after the other.
func TestLinkDownEventsOneAtATime(t *testing.T) {
	noLeaks(t)
	hub := ethtest.NewHub()
	a, b := startEthNode(t, hub, ipcp.EthDIX, "a0"), startEthNode(t, hub, ipcp.EthDIX, "b0")
	flows := b.serve(t, "srv", 2)
	cli := a.attach(t, "cli")
	set, err := dev.NewEventSet()
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	for range 2 {
		f, err := cli.Alloc(ctxT(t, 5*time.Second), "srv", qos.Raw)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		defer accepted(t, flows).Close()
		set.Add(f)
	}
	a.port.SetCarrier(false)
	seen := map[*dev.Flow]bool{}
	evs := make([]dev.Event, 1)
	for deadline := time.Now().Add(10 * time.Second); len(seen) < 2 && time.Now().Before(deadline); {
		if k, _ := set.WaitTimeout(200*time.Millisecond, evs); k == 1 && evs[0].Type == dev.EventDown {
			seen[evs[0].Flow] = true
		}
	}
	if len(seen) != 2 {
		t.Fatalf("EventDown for %d flows, want 2", len(seen))
	}
}

// A flow is refused at once while the link has no carrier, and allocated
// again when it is back.
func TestAllocWhileLinkDown(t *testing.T) {
	noLeaks(t)
	hub := ethtest.NewHub()
	a, b := startEthNode(t, hub, ipcp.EthDIX, "a0"), startEthNode(t, hub, ipcp.EthDIX, "b0")
	flows := b.serve(t, "srv", 2)
	cli := a.attach(t, "cli")
	f, err := cli.Alloc(ctxT(t, 5*time.Second), "srv", qos.Raw) // fills the directory
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	accepted(t, flows).Close()
	a.port.SetCarrier(false)
	wait.For(t, "the carrier loss seen", func() bool { return a.p.Stats.LinkDown.Load() == 1 })
	if _, err := cli.Alloc(ctxT(t, 5*time.Second), "srv", qos.Raw); !errors.Is(err, dev.ErrFlowDown) {
		t.Fatalf("alloc with the link down = %v, want ErrFlowDown", err)
	}
	a.port.SetCarrier(true)
	wait.For(t, "the carrier back", func() bool { return a.p.Stats.LinkUp.Load() == 1 })
	f, err = cli.Alloc(ctxT(t, 5*time.Second), "srv", qos.Raw)
	if err != nil {
		t.Fatalf("alloc with the link back: %v", err)
	}
	accepted(t, flows).Close()
	f.Close()
}
