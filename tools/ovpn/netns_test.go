package ovpn

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"

	"github.com/o7s/ouroboros/stack/qos"
	"github.com/o7s/ouroboros/tools/tooltest"
)

// privileged skips unless the test runs as root with
// OUROBOROS_PRIVILEGED_TESTS=1.
func privileged(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 || os.Getenv("OUROBOROS_PRIVILEGED_TESTS") != "1" {
		t.Skip("needs root and OUROBOROS_PRIVILEGED_TESTS=1")
	}
}

func ipCmd(t testing.TB, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// twoNetns makes two network namespaces ovt-<random>-a and -b, removed
// when the test ends, and returns their names and handles.
func twoNetns(t *testing.T) (names [2]string, hs [2]netns.NsHandle) {
	t.Helper()
	r := make([]byte, 4)
	rand.Read(r)
	for i, sfx := range []string{"a", "b"} {
		name := "ovt-" + hex.EncodeToString(r) + "-" + sfx
		t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
		ipCmd(t, "netns", "add", name)
		h, err := netns.GetFromName(name)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { h.Close() })
		names[i], hs[i] = name, h
	}
	return names, hs
}

// inNetns runs fn on a new thread in ns; the thread is never unlocked, so
// it dies with its goroutine, and sockets fn opens stay in ns.
func inNetns(ns netns.NsHandle, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := netns.Set(ns); err != nil {
			errc <- err
			return
		}
		errc <- fn()
	}()
	return <-errc
}

// ping sends ICMP echo requests from ns to dst until one is answered.
func ping(ns netns.NsHandle, dst netip.Addr) error {
	return inNetns(ns, func() error {
		network, laddr, proto := "ip4:icmp", "0.0.0.0", 1
		var typ icmp.Type = ipv4.ICMPTypeEcho
		if dst.Is6() {
			network, laddr, proto, typ = "ip6:ipv6-icmp", "::", 58, ipv6.ICMPTypeEchoRequest
		}
		c, err := icmp.ListenPacket(network, laddr)
		if err != nil {
			return err
		}
		defer c.Close()
		for seq := range 10 {
			m := icmp.Message{Type: typ, Body: &icmp.Echo{ID: 0x0e7, Seq: seq, Data: []byte("ovpn test")}}
			b, _ := m.Marshal(nil)
			if _, err := c.WriteTo(b, &net.IPAddr{IP: dst.AsSlice()}); err != nil {
				return err
			}
			c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
			buf := make([]byte, 1500)
			for {
				n, _, err := c.ReadFrom(buf)
				if err != nil {
					break
				}
				r, err := icmp.ParseMessage(proto, buf[:n])
				if e, ok := r.Body.(*icmp.Echo); err == nil && ok && e.ID == 0x0e7 && r.Type != typ {
					return nil
				}
			}
		}
		return fmt.Errorf("no answer from %s", dst)
	})
}

// transfer sends size random bytes over TCP from nsB to dst:5001 in nsA
// and checks their hash; it returns the goodput in Mb/s.
func transfer(nsA, nsB netns.NsHandle, dst netip.Addr, size int) (float64, error) {
	var ln net.Listener
	if err := inNetns(nsA, func() (err error) {
		ln, err = net.Listen("tcp", netip.AddrPortFrom(dst, 5001).String())
		return err
	}); err != nil {
		return 0, err
	}
	defer ln.Close()
	got := make(chan []byte, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- nil
			return
		}
		defer c.Close()
		h := sha256.New()
		io.Copy(h, c)
		got <- h.Sum(nil)
	}()
	data := make([]byte, size)
	rand.Read(data)
	want := sha256.Sum256(data)
	var c net.Conn
	if err := inNetns(nsB, func() (err error) {
		c, err = net.DialTimeout("tcp", netip.AddrPortFrom(dst, 5001).String(), 5*time.Second)
		return err
	}); err != nil {
		return 0, err
	}
	start := time.Now()
	c.SetDeadline(time.Now().Add(60 * time.Second))
	_, err := c.Write(data)
	c.Close()
	if err != nil {
		return 0, err
	}
	select {
	case h := <-got:
		if !bytes.Equal(h, want[:]) {
			return 0, fmt.Errorf("hash of what arrived %x; sent %x", h, want)
		}
	case <-time.After(60 * time.Second):
		return 0, fmt.Errorf("the transfer did not end")
	}
	return float64(size) * 8 / time.Since(start).Seconds() / 1e6, nil
}

// linksIn is the names of the links in ns.
func linksIn(t *testing.T, ns netns.NsHandle) []string {
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	ls, err := h.LinkList()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range ls {
		names = append(names, l.Attrs().Name)
	}
	return names
}

const transferSize = 8 << 20

// TestNetns runs an ovpn server and client on one node (a local layer),
// each with its device in a namespace of its own, and sends pings (IPv4,
// IPv6) and a TCP transfer through the tunnel, over tun and over tap.
func TestNetns(t *testing.T) {
	privileged(t)
	for _, tc := range []struct {
		name string
		tap  bool
		qos  string
	}{{"tun", false, "raw"}, {"tap", true, "raw"}, {"tun-data", false, "data"}} {
		t.Run(tc.name, func(t *testing.T) { testNetns(t, tc.tap, tc.qos) })
	}
}

func testNetns(t *testing.T, tap bool, qosName string) {
	names, hs := twoNetns(t)
	for _, n := range names {
		ipCmd(t, "-n", n, "link", "set", "lo", "up")
	}
	tn := tooltest.Start(t, "ovpn", true)
	qs, _ := qos.ByName(qosName)
	ip4 := [2]netip.Prefix{netip.MustParsePrefix("10.77.0.1/24"), netip.MustParsePrefix("10.77.0.2/24")}
	ip6 := [2]netip.Prefix{netip.MustParsePrefix("fd77::1/64"), netip.MustParsePrefix("fd77::2/64")}
	srvCfg := Config{IP4: ip4[0], IP6: ip6[0], TAP: tap, QoS: qs, NS: int(hs[0])}
	cliCfg := Config{Name: "ovpn", IP4: ip4[1], IP6: ip6[1], TAP: tap, QoS: qs, NS: int(hs[1])}
	ctx, cancel := context.WithCancel(context.Background())
	srvOut, cliOut := &tooltest.Buffer{}, &tooltest.Buffer{}
	done := make(chan error, 2)
	go func() { done <- Serve(ctx, srvCfg, tn.Srv, srvOut) }()
	go func() { done <- Run(ctx, cliCfg, tn.Cli, cliOut) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		for range 2 {
			if err := <-done; err != nil {
				t.Errorf("ovpn: %v", err)
			}
		}
	}
	defer stop()
	srvOut.WaitFor(t, "Starting read/write threads.")
	cliOut.WaitFor(t, "Starting read/write threads.")

	for _, dst := range []netip.Addr{ip4[0].Addr(), ip6[0].Addr()} {
		if err := ping(hs[1], dst); err != nil {
			t.Errorf("ping %s: %v\nserver:\n%s\nclient:\n%s", dst, err, srvOut, cliOut)
		}
	}
	if tap { // ARP resolved the server's MAC in the client's namespace
		h, _ := netlink.NewHandleAt(hs[1])
		neigh, _ := h.NeighList(0, netlink.FAMILY_V4)
		h.Close()
		found := false
		for _, n := range neigh {
			found = found || n.IP.Equal(ip4[0].Addr().AsSlice()) && len(n.HardwareAddr) == 6
		}
		if !found {
			t.Errorf("no ARP entry for %s in the client's namespace: %v", ip4[0].Addr(), neigh)
		}
	}
	mbps, err := transfer(hs[0], hs[1], ip4[0].Addr(), transferSize)
	if err != nil {
		t.Fatalf("TCP through the tunnel: %v", err)
	}
	t.Logf("TCP through the tunnel (%s, QoS %s): %d MB at %.0f Mb/s", map[bool]string{false: "tun", true: "tap"}[tap], qosName, transferSize>>20, mbps)
	if !tap && qosName == "raw" {
		if veth, err := vethTransfer(t, names, hs); err != nil {
			t.Errorf("TCP over a veth: %v", err)
		} else {
			t.Logf("TCP over a bare veth between the same namespaces: %.0f Mb/s", veth)
		}
	}
	stop()
	t.Logf("server:\n%s\nclient:\n%s", srvOut, cliOut)
	for i, h := range hs {
		for _, l := range linksIn(t, h) {
			if strings.HasPrefix(l, "tun") || strings.HasPrefix(l, "tap") {
				t.Errorf("device %s left in %s after ovpn ended", l, names[i])
			}
		}
	}
}

// vethTransfer is the same transfer over a veth pair between the
// namespaces, for comparison.
func vethTransfer(t *testing.T, names [2]string, hs [2]netns.NsHandle) (float64, error) {
	ipCmd(t, "link", "add", "ovt0", "netns", names[0], "type", "veth", "peer", "name", "ovt0", "netns", names[1])
	ipCmd(t, "-n", names[0], "addr", "add", "10.78.0.1/24", "dev", "ovt0")
	ipCmd(t, "-n", names[1], "addr", "add", "10.78.0.2/24", "dev", "ovt0")
	ipCmd(t, "-n", names[0], "link", "set", "ovt0", "up")
	ipCmd(t, "-n", names[1], "link", "set", "ovt0", "up")
	return transfer(hs[0], hs[1], netip.MustParseAddr("10.78.0.1"), transferSize)
}
