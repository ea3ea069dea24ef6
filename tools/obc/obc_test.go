package obc

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/o7s/ouroboros/stack/dev"
	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/stack/ipcp/broadcast"
	"github.com/o7s/ouroboros/stack/irm"
	"github.com/o7s/ouroboros/tools/tooltest"
)

func TestParse(t *testing.T) {
	long := strings.Repeat("x", MaxMessage+1)
	for _, tc := range []struct {
		args []string
		cfg  Config
		err  error
	}{
		{[]string{"-n", "bc"}, Config{Layer: "bc", Message: DefaultMessage}, nil},
		{[]string{"--name", "bc", "--message", "hi"}, Config{Layer: "bc", Message: "hi"}, nil},
		{[]string{"-m", "hi", "-l", "-n", "bc"}, Config{Layer: "bc", Message: "hi", Listen: true}, nil},
		{[]string{"--listen", "--name", "bc"}, Config{Layer: "bc", Message: DefaultMessage, Listen: true}, nil},
		{[]string{"-n", "bc", "-m", strings.Repeat("x", MaxMessage)}, Config{Layer: "bc", Message: strings.Repeat("x", MaxMessage)}, nil},
		{[]string{"-n", "bc", "-m", long}, Config{}, ErrTooLong},
		{nil, Config{}, ErrNoName},
		{[]string{"-l"}, Config{}, ErrNoName},
		{[]string{"-n", ""}, Config{}, ErrNoName},
		{[]string{"-n"}, Config{}, ErrUsage},
		{[]string{"-n", "bc", "-x"}, Config{}, ErrUsage},
		{[]string{"-n", "bc", "extra"}, Config{}, ErrUsage},
		{[]string{"-h"}, Config{}, ErrHelp},
		{[]string{"-n", "bc", "--help"}, Config{}, ErrHelp},
	} {
		cfg, err := Parse(tc.args)
		if (tc.err == nil) != (err == nil) || !errors.Is(err, tc.err) || (err == nil && cfg != tc.cfg) {
			t.Errorf("Parse(%q) = %+v, %v; want %+v, %v", tc.args, cfg, err, tc.cfg, tc.err)
		}
	}
}

func TestMTU(t *testing.T) {
	if MTU != broadcast.MTU {
		t.Errorf("obc's MTU %d is not the broadcast IPCP's %d", MTU, broadcast.MTU)
	}
}

func TestText(t *testing.T) {
	for in, want := range map[string]string{"hi\x00junk": "hi", "hi": "hi", "\x00": "", "": ""} {
		if got := string(text([]byte(in))); got != want {
			t.Errorf("text(%q) = %q, want %q", in, got, want)
		}
	}
}

// startNode starts a node whose broadcast IPCP is in layer "bc", and
// attaches clients to it.
func startNode(t *testing.T, progs ...string) []*dev.Client {
	_, cs := startNodeN(t, progs...)
	return cs
}

func startNodeN(t *testing.T, progs ...string) (*irm.Node, []*dev.Client) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "irm.sock")
	n, err := irm.Start(irm.Config{Sock: sock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	id, err := n.CreateIPCP("bc", ipcp.Broadcast)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.BootstrapIPCP(context.Background(), id, ipcp.Config{Layer: "bc"}); err != nil {
		t.Fatal(err)
	}
	var cs []*dev.Client
	for _, p := range progs {
		cs = append(cs, tooltest.Attach(t, sock, p))
	}
	return n, cs
}

func TestWriteAndRead(t *testing.T) {
	cs := startNode(t, "r1", "r2", "w")
	ctx, cancel := context.WithCancel(context.Background())
	outs := []*tooltest.Buffer{{}, {}}
	done := make(chan error, 2)
	for i, o := range outs {
		go func() { done <- Read(ctx, cs[i], "bc", o) }()
		o.WaitFor(t, "Starting a reader.\nNew flow.\n")
	}
	msgs := []string{DefaultMessage, "second", strings.Repeat("y", 300)}
	for _, m := range msgs {
		var out bytes.Buffer
		if err := Write(context.Background(), cs[2], "bc", m, &out); err != nil || out.Len() != 0 {
			t.Fatalf("write %q: %v, %q", m, err, out.String())
		}
	}
	// The 300-byte message comes in two reads of at most 256 bytes, as in
	// the reference; the NUL ends the second.
	want := "Starting a reader.\nNew flow.\n" +
		"Message is " + DefaultMessage + ".\n" +
		"Message is second.\n" +
		"Message is " + strings.Repeat("y", 256) + ".\n" +
		"Message is " + strings.Repeat("y", 44) + ".\n"
	for _, o := range outs {
		o.WaitFor(t, want)
	}
	cancel()
	for range outs {
		if err := <-done; err != nil {
			t.Errorf("Read = %v after cancel", err)
		}
	}
	for _, o := range outs {
		if o.String() != want {
			t.Errorf("reader printed:\n%s", o.String())
		}
	}
}

// TestWriterIsNotAReader: the writer's message reaches another flow of
// the same process, once.
func TestWriterIsNotAReader(t *testing.T) {
	cs := startNode(t, "x")
	f, err := cs[0].Join(context.Background(), "bc")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := Write(context.Background(), cs[0], "bc", "to the others", &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, BufSize)
	f.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, err := f.Read(buf)
	if err != nil || string(buf[:n]) != "to the others\x00" {
		t.Fatalf("read %q, %v", buf[:n], err)
	}
}

func TestFailures(t *testing.T) {
	cs := startNode(t, "x")
	var out bytes.Buffer
	if err := Write(context.Background(), cs[0], "nobc", "hi", &out); !errors.Is(err, dev.ErrIPCP) || out.String() != "Failed to join broadcast.\n" {
		t.Errorf("write to no layer: %v, %q", err, out.String())
	}
	out.Reset()
	if err := Read(context.Background(), cs[0], "nobc", &out); !errors.Is(err, dev.ErrIPCP) || out.String() != "Starting a reader.\nFailed to join broadcast.\n" {
		t.Errorf("read from no layer: %v, %q", err, out.String())
	}
}

// TestReaderLosesTheLayer: when the IPCP goes, the reader says so.
func TestReaderLosesTheLayer(t *testing.T) {
	n, cs := startNodeN(t, "r")
	var out tooltest.Buffer
	done := make(chan error, 1)
	go func() { done <- Read(context.Background(), cs[0], "bc", &out) }()
	out.WaitFor(t, "New flow.\n")
	for _, x := range n.ListIPCPs() {
		n.DestroyIPCP(x.ID)
	}
	select {
	case err := <-done:
		if err == nil || out.String() != "Starting a reader.\nNew flow.\nFailed to read.\n" {
			t.Errorf("Read = %v, printed %q", err, out.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the reader did not notice")
	}
}
