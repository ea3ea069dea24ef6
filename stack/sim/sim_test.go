package sim

import (
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/o7s/ouroboros/internal/wait"
	"github.com/o7s/ouroboros/stack/ctl"
	"github.com/o7s/ouroboros/stack/dev"
	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/stack/qos"
)

// TestLineMultiHop: a flow across three hops of a unicast layer carries
// an SDU there and back unchanged.
func TestLineMultiHop(t *testing.T) {
	n := New(t)
	a, b, c, d := n.AddNode("a"), n.AddNode("b"), n.AddNode("c"), n.AddNode("d")
	n.Connect(a, b)
	n.Connect(b, c)
	n.Connect(c, d)
	if err := n.Layer("net", nil); err != nil {
		t.Fatal(err)
	}
	echoServer(t, d, "net", "echo")
	echoOnce(t, dial(t, a, "echo"), "hello across three hops")
}

// echoOnce writes msg on f and expects it back unchanged.
func echoOnce(t *testing.T, f *dev.Flow, msg string) {
	t.Helper()
	if _, err := f.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 100)
	f.SetReadDeadline(time.Now().Add(5 * time.Second))
	k, err := f.Read(buf)
	if err != nil || string(buf[:k]) != msg {
		t.Fatalf("read %q, %v; want %q", buf[:k], err, msg)
	}
}

// TestVoiceAdjacency: a data-transfer adjacency connected with QoS
// raw-voice is in the voice cube at both ends (the accepting end learns it
// from the flow request in the layer below); with a best-effort adjacency
// beside it, the packets cross the scheduler's queues and arrive
// unchanged. QoS voice, which asks for in-order delivery, runs FRCT on the
// N-1 flow and is in the voice cube too.
func TestVoiceAdjacency(t *testing.T) {
	n := New(t)
	a, b, c := n.AddNode("a"), n.AddNode("b"), n.AddNode("c")
	n.Connect(a, b)
	n.Connect(b, c)
	if err := n.Layer("net", nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// qos voice asks for in-order delivery: the N-1 flow runs FRCT, as
	// the reference's IPCPs do; raw-voice is the same cube without it.
	for _, qs := range []qos.Spec{qos.Voice, qos.RawVoice} {
		if err := a.N.ConnectIPCP(ctx, a.Unicast["net"], IPCPName("net", "b"), ipcp.CompDT, qs); err != nil {
			t.Fatalf("connect with %v: %v", qs, err)
		}
	}
	for _, nd := range []*Node{a, b} {
		// The accepting side adds its adjacency when the flow arrives,
		// which may be after the connect returned on the other.
		var cubes []qos.Cube
		ok := wait.Until(5*time.Second, func() bool {
			info, _, err := nd.N.IPCPDetail(nd.Unicast["net"])
			if err != nil {
				t.Fatal(err)
			}
			cubes = cubes[:0]
			voice := 0
			for _, nb := range info.Neighbours {
				if nb.Comp == ipcp.CompDT {
					cubes = append(cubes, nb.Cube)
					if nb.Cube == qos.CubeVoice {
						voice++
					}
				}
			}
			return voice == 2 && slices.Contains(cubes, qos.CubeBE)
		})
		if !ok {
			t.Fatalf("%s: data-transfer cubes %v, want two voice ones and a best-effort one", nd.Name, cubes)
		}
	}
	echoServer(t, c, "net", "echo")
	f := dial(t, a, "echo")
	buf := make([]byte, 2000)
	for i := range 200 {
		msg := make([]byte, 1+i*7)
		for j := range msg {
			msg[j] = byte(i + j)
		}
		if _, err := f.Write(msg); err != nil {
			t.Fatal(err)
		}
		f.SetReadDeadline(time.Now().Add(5 * time.Second))
		k, err := f.Read(buf)
		if err != nil || sha256.Sum256(buf[:k]) != sha256.Sum256(msg) {
			t.Fatalf("echo %d: %d bytes back, %v", i, k, err)
		}
	}
}

// TestConfigFile: a unicast layer set up from configuration files, as
// onode --config does: a bootstraps (autobind), b enrols through a and
// connects to it (conn); a flow crosses the layer.
func TestConfigFile(t *testing.T) {
	n := New(t)
	a, b := n.AddNode("a"), n.AddNode("b")
	l := n.Connect(a, b)
	for _, x := range []struct {
		nd   *Node
		conf string
	}{
		{a, "[unicast.\"net.a\"]\nbootstrap = \"net\"\nautobind = true\nls_t_update = 1\nls_t_timeo = 3\n"},
		{b, "[unicast.\"net.b\"]\nenrol = \"net.a\"\nautobind = true\nconn = [\"net.a\"]\n"},
	} {
		// The names the peers reach each other by are registered in the
		// link's layer first (in a file: reg in the eth table).
		for _, nm := range []string{"net." + x.nd.Name, "net"} {
			if err := x.nd.N.CreateName(nm, ctl.Spillover); err != nil {
				t.Fatal(err)
			}
			if err := x.nd.N.RegName(nm, x.nd.lower[l.Layer]); err != nil {
				t.Fatal(err)
			}
		}
		p := filepath.Join(t.TempDir(), "onode.conf")
		if err := os.WriteFile(p, []byte(x.conf), 0o644); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		err := x.nd.N.ApplyConfig(ctx, p)
		cancel()
		if err != nil {
			t.Fatalf("%s: %v", x.nd.Name, err)
		}
		for _, i := range x.nd.N.ListIPCPs() {
			if i.Name == "net."+x.nd.Name {
				x.nd.Unicast["net"] = i.ID
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := n.Converge(ctx, "net"); err != nil {
		t.Fatal(err)
	}
	echoServer(t, b, "net", "echo")
	echoOnce(t, dial(t, a, "echo"), "configured")
}

// TestConfigFileEnrollerLate: as nodes started together from
// configuration files do, b applies its file (enrol through net.a) before
// a is up; b's enrolment is tried again until a has bootstrapped the
// layer, and a flow crosses it.
func TestConfigFileEnrollerLate(t *testing.T) {
	n := New(t)
	a, b := n.AddNode("a"), n.AddNode("b")
	l := n.Connect(a, b)
	files := map[*Node]string{
		a: "[unicast.\"net.a\"]\nbootstrap = \"net\"\nautobind = true\nls_t_update = 1\nls_t_timeo = 3\n",
		b: "[unicast.\"net.b\"]\nenrol = \"net.a\"\nautobind = true\nconn = [\"net.a\"]\n",
	}
	apply := func(nd *Node) error {
		// The name the peer reaches this node's IPCP by, in the link's
		// layer (in a file: reg in the eth table).
		nm := "net." + nd.Name
		if err := nd.N.CreateName(nm, ctl.Spillover); err != nil {
			return err
		}
		if err := nd.N.RegName(nm, nd.lower[l.Layer]); err != nil {
			return err
		}
		p := filepath.Join(t.TempDir(), "onode.conf")
		if err := os.WriteFile(p, []byte(files[nd]), 0o644); err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		return nd.N.ApplyConfig(ctx, p)
	}
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- apply(b) }()
	time.Sleep(1500 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("b's file applied before a was up: %v", err)
	default:
	}
	if err := apply(a); err != nil {
		t.Fatalf("a: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("b: %v (after %v)", err, time.Since(start))
	}
	for _, nd := range []*Node{a, b} {
		for _, i := range nd.N.ListIPCPs() {
			if i.Name == "net."+nd.Name {
				nd.Unicast["net"] = i.ID
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := n.Converge(ctx, "net"); err != nil {
		t.Fatal(err)
	}
	echoServer(t, b, "net", "echo")
	echoOnce(t, dial(t, a, "echo"), "enrolled once a was up")
}

// A layer whose data-transfer flows run FRCT (qos voice and qos data on
// the N-1 flows, as irm ipcp connect ... qos voice does in the
// reference): flows across it carry every SDU intact.
func TestFRCTAdjacencies(t *testing.T) {
	n := New(t)
	a, b, c := n.AddNode("a"), n.AddNode("b"), n.AddNode("c")
	n.Connect(a, b).DTQoS = qos.Voice
	n.Connect(b, c).DTQoS = qos.Data
	if err := n.Layer("net", nil); err != nil {
		t.Fatal(err)
	}
	echoServer(t, c, "net", "echo")
	f := dial(t, a, "echo")
	buf := make([]byte, 2000)
	for i := range 300 {
		// At most 1200 bytes: FRCT's header on the N-1 flow takes 12 of
		// the Ethernet frame the unicast PDU would otherwise fill.
		msg := make([]byte, 1+i*4)
		for j := range msg {
			msg[j] = byte(i ^ j)
		}
		if _, err := f.Write(msg); err != nil {
			t.Fatal(err)
		}
		f.SetReadDeadline(time.Now().Add(5 * time.Second))
		k, err := f.Read(buf)
		if err != nil || sha256.Sum256(buf[:k]) != sha256.Sum256(msg) {
			t.Fatalf("echo %d: %d bytes back, %v", i, k, err)
		}
	}
	for _, nd := range []*Node{a, b} {
		info, _, err := nd.N.IPCPDetail(nd.Unicast["net"])
		if err != nil {
			t.Fatal(err)
		}
		var cubes []qos.Cube
		for _, nb := range info.Neighbours {
			if nb.Comp == ipcp.CompDT {
				cubes = append(cubes, nb.Cube)
			}
		}
		if nd == a && !slices.Equal(cubes, []qos.Cube{qos.CubeVoice}) {
			t.Errorf("a: data-transfer cubes %v, want voice only", cubes)
		}
	}
}

// A flow across a unicast layer over Ethernet knows the largest SDU the
// layer carries (the frame less the headers of every layer), raw and with
// FRCT on the N-1 flows: an SDU of that size crosses, one byte more is
// refused at once. (Each member knows its own N-1 flows: a layer whose
// links differ reports what the first hop carries.)
func TestMaxSDU(t *testing.T) {
	for _, dtq := range []qos.Spec{qos.Raw, qos.Voice} {
		t.Run(map[bool]string{true: "raw", false: "voice"}[dtq == qos.Raw], func(t *testing.T) { maxSDU(t, dtq) })
	}
}

func maxSDU(t *testing.T, dtq qos.Spec) {
	n := New(t)
	a, b, c := n.AddNode("a"), n.AddNode("b"), n.AddNode("c")
	n.Connect(a, b).DTQoS = dtq
	n.Connect(b, c).DTQoS = dtq
	if err := n.Layer("net", nil); err != nil {
		t.Fatal(err)
	}
	echoServer(t, c, "net", "echo")
	f := dial(t, a, "echo")
	m := f.MaxSDU()
	if m <= 0 || m >= 1500 {
		t.Fatalf("MaxSDU %d over 1500-byte Ethernet", m)
	}
	msg := make([]byte, m)
	for i := range msg {
		msg[i] = byte(i)
	}
	if _, err := f.Write(msg); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 2000)
	f.SetReadDeadline(time.Now().Add(5 * time.Second))
	if k, err := f.Read(buf); err != nil || k != m {
		t.Fatalf("echo of %d bytes: %d, %v", m, k, err)
	}
	if _, err := f.Write(make([]byte, m+1)); !errors.Is(err, dev.ErrMsgSize) {
		t.Fatalf("an SDU one byte too long: %v", err)
	}
	t.Logf("MaxSDU %d", m)
}
