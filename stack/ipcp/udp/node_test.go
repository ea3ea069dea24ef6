package udp_test

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/o7s/ouroboros/internal/wait"
	"github.com/o7s/ouroboros/stack/dev"
	"github.com/o7s/ouroboros/stack/errs"
	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/stack/ipcp/udp"
	"github.com/o7s/ouroboros/stack/irm"
	"github.com/o7s/ouroboros/stack/qos"
)

// Two nodes in one process, each with its own IRM on its own control
// socket and a UDP IPCP, talking over the loopback.
//
// udp4: the IPCPs are bound to 127.0.0.1 and 127.0.0.2 on the same port,
// as a layer must be (the reference sends every request to the layer's
// port), and A finds B through a static entry.
//
// udp6: ::1 is the only IPv6 loopback address, so the two IPCPs share it
// on different ports, and A's static entry names B's port explicitly
// (AddStaticAddrPort, an extension of ours).

type node struct {
	n    *irm.Node
	sock string
	id   uint32
	p    *udp.IPCP
}

func startNode(t *testing.T, typ ipcp.Type, name string) *node {
	t.Helper()
	nd := &node{sock: filepath.Join(t.TempDir(), "irm.sock")}
	mk := func(id uint32, r ipcp.IRM, log *slog.Logger) ipcp.IPCP {
		p := udp.New4(id, r, log)
		if typ == ipcp.UDP6 {
			p = udp.New6(id, r, log)
		}
		udp.SetSysLookup(p, udp.NoSysLookup) // tests stay on the loopback
		nd.p = p.(*udp.IPCP)
		return p
	}
	cfg := irm.Config{Sock: nd.sock, Constructors: map[ipcp.Type]irm.Constructor{typ: mk}}
	if testing.Verbose() {
		cfg.Log = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug})).With("node", name)
	}
	n, err := irm.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	nd.n = n
	if nd.id, err = n.CreateIPCP("udp-"+name, typ); err != nil {
		t.Fatal(err)
	}
	return nd
}

func (nd *node) bootstrap(ap netip.AddrPort, static map[string]netip.Addr) error {
	conf := &ipcp.UDPConfig{Addr: ap.Addr(), Port: ap.Port(), Static: static}
	return nd.n.BootstrapIPCP(context.Background(), nd.id, ipcp.Config{Layer: "udp", UDP: conf})
}

func md5Of(name string) string { h := md5.Sum([]byte(name)); return string(h[:]) }

// freePort returns a UDP port free on addr a moment ago.
func freePort(t *testing.T, addr string) uint16 {
	t.Helper()
	probe, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(netip.MustParseAddr(addr), 0)))
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Close()
	return uint16(probe.LocalAddr().(*net.UDPAddr).Port)
}

// layer returns nodes A and B bootstrapped at the addresses ports gives
// (retrying when a port was taken meanwhile).
func layer(t *testing.T, typ ipcp.Type, addrA, addrB string, ports func() (uint16, uint16), static map[string]netip.Addr) (a, b *node) {
	t.Helper()
	for range 10 {
		pa, pb := ports()
		a, b = startNode(t, typ, "a"), startNode(t, typ, "b")
		if a.bootstrap(netip.AddrPortFrom(netip.MustParseAddr(addrA), pa), static) == nil &&
			b.bootstrap(netip.AddrPortFrom(netip.MustParseAddr(addrB), pb), nil) == nil {
			return a, b
		}
		a.n.Close()
		b.n.Close()
	}
	t.Fatal("found no free ports")
	return nil, nil
}

// layer4 returns nodes A (127.0.0.1) and B (127.0.0.2) on one port, A
// knowing from its configuration that B serves "srv".
func layer4(t *testing.T) (a, b *node) {
	same := func() (uint16, uint16) { p := freePort(t, "127.0.0.1"); return p, p }
	static := map[string]netip.Addr{"srv": netip.MustParseAddr("127.0.0.2")}
	return layer(t, ipcp.UDP4, "127.0.0.1", "127.0.0.2", same, static)
}

// layer6 returns nodes A and B on ::1, distinct ports, A knowing B's.
func layer6(t *testing.T) (a, b *node) {
	two := func() (uint16, uint16) { return freePort(t, "::1"), freePort(t, "::1") }
	a, b = layer(t, ipcp.UDP6, "::1", "::1", two, nil)
	if err := a.p.AddStaticAddrPort([]byte(md5Of("srv")), b.p.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	return a, b
}

func attach(t *testing.T, nd *node, prog string) *dev.Client {
	t.Helper()
	c, err := dev.DialAs(context.Background(), nd.sock, prog)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// serve binds a server to "srv" on nd, registers the name in the layer
// and echoes one flow until it reads "bye", then closes it.
func serve(t *testing.T, nd *node) <-chan error {
	t.Helper()
	srv := attach(t, nd, "srv")
	if err := nd.n.BindProcess(srv.PID(), "srv"); err != nil {
		t.Fatal(err)
	}
	if err := nd.n.RegName("srv", nd.id); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		f, err := srv.Accept(ctx)
		if err != nil {
			errc <- err
			return
		}
		defer f.Close()
		buf := make([]byte, dev.MaxSDU)
		for {
			n, err := f.Read(buf)
			if err == nil {
				_, err = f.Write(buf[:n])
			}
			if err != nil || string(buf[:n]) == "bye" {
				errc <- err
				return
			}
		}
	}()
	return errc
}

func waitFlows(t *testing.T, nd *node, want int) {
	t.Helper()
	if !wait.Until(5*time.Second, func() bool { return len(nd.n.Flows()) == want }) {
		t.Fatalf("flow table has %d flows, want %d: %+v", len(nd.n.Flows()), want, nd.n.Flows())
	}
}

// echo writes count SDUs of varied sizes up to the maximum and checks
// that each comes back intact.
func echo(t *testing.T, f *dev.Flow, count, maxSDU int) {
	t.Helper()
	f.SetReadTimeout(5 * time.Second)
	rng := rand.New(rand.NewPCG(1, 2))
	msg, buf := make([]byte, maxSDU), make([]byte, dev.MaxSDU)
	for i := range count {
		size := 1 + (i*7919)%maxSDU
		if i == 0 {
			size = maxSDU
		}
		for j := range msg[:size] {
			msg[j] = byte(rng.Uint32())
		}
		sum := sha256.Sum256(msg[:size])
		if _, err := f.Write(msg[:size]); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		n, err := f.Read(buf)
		if err != nil {
			t.Fatalf("read %d: %v", i, err)
		}
		if sha256.Sum256(buf[:n]) != sum {
			t.Fatalf("SDU %d came back different (%d bytes, sent %d)", i, n, size)
		}
	}
}

func TestNodes(t *testing.T) {
	for _, tc := range []struct {
		typ    ipcp.Type
		layer  func(*testing.T) (*node, *node)
		maxSDU int
	}{
		{ipcp.UDP4, layer4, udp.MaxSDU4},
		{ipcp.UDP6, layer6, udp.MaxSDU6},
	} {
		t.Run(tc.typ.String(), func(t *testing.T) {
			a, b := tc.layer(t)
			done := serve(t, b)
			cli := attach(t, a, "cli")
			f, err := cli.Alloc(ctxT(t, 5*time.Second), "srv", qos.Raw)
			if err != nil {
				t.Fatal(err)
			}
			if f.Direct() || f.MPL() != udp.MPL {
				t.Errorf("flow direct=%v mpl=%v, want through the layer with MPL %v", f.Direct(), f.MPL(), udp.MPL)
			}
			waitFlows(t, a, 1)
			waitFlows(t, b, 1)
			echo(t, f, 1000, tc.maxSDU)
			// The flow knows the layer's maximum: an SDU over it is
			// refused by Write, before it reaches the IPCP.
			if f.MaxSDU() != tc.maxSDU {
				t.Errorf("flow MaxSDU %d, want the layer's %d", f.MaxSDU(), tc.maxSDU)
			}
			if _, err := f.Write(make([]byte, tc.maxSDU+1)); !errors.Is(err, dev.ErrMsgSize) {
				t.Errorf("an SDU over the layer's maximum: %v, want ErrMsgSize", err)
			}
			echo(t, f, 1, 10)
			if got := a.p.Stats.DropOversize.Load(); got != 0 {
				t.Errorf("A dropped %d oversize SDUs, want none to reach it", got)
			}
			if _, err := f.Write([]byte("bye")); err != nil {
				t.Fatal(err)
			}
			if n, err := f.Read(make([]byte, 8)); err != nil || n != 3 {
				t.Fatalf("read of the echoed bye: %d, %v", n, err)
			}
			if err := <-done; err != nil {
				t.Fatalf("server: %v", err)
			}
			f.Close()
			waitFlows(t, a, 0)
			waitFlows(t, b, 0)
			for name, p := range map[string]*udp.IPCP{"A": a.p, "B": b.p} {
				s := &p.Stats
				if s.DropShort.Load()+s.DropUnknownEID.Load()+s.DropBadMgmt.Load()+s.DropWrongSource.Load()+s.DropSendErr.Load() != 0 {
					t.Errorf("%s dropped datagrams of a clean exchange: %+v", name, s)
				}
			}
		})
	}
}

func TestNodeQueryUnknownName(t *testing.T) {
	a, _ := layer4(t)
	cli := attach(t, a, "cli")
	start := time.Now()
	_, err := cli.Alloc(ctxT(t, 5*time.Second), "nobody", qos.Raw)
	if !errors.Is(err, errs.ErrIPCP) {
		t.Fatalf("Alloc(nobody) = %v, want ErrIPCP", err)
	}
	if d := time.Since(start); d > irm.QueryTimeout+time.Second {
		t.Errorf("Alloc(nobody) took %v", d)
	}
	waitFlows(t, a, 0)
}

func TestNodeAcceptorGoneAnswersAtOnce(t *testing.T) {
	a, b := layer4(t)
	// "srv" is registered on B but nobody accepts: B answers with the
	// IRM's error instead of letting A wait out its allocation timeout.
	srv := attach(t, b, "srv")
	if err := b.n.BindProcess(srv.PID(), "srv"); err != nil {
		t.Fatal(err)
	}
	if err := b.n.RegName("srv", b.id); err != nil {
		t.Fatal(err)
	}
	cli := attach(t, a, "cli")
	start := time.Now()
	_, err := cli.Alloc(ctxT(t, 10*time.Second), "srv", qos.Raw)
	if err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("Alloc = %v after %v, want an error well before the 20 s timeout", err, time.Since(start))
	}
	waitFlows(t, a, 0)
	waitFlows(t, b, 0)
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
