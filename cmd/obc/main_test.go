package main

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/stack/irm"
	"github.com/o7s/ouroboros/tools/obc"
	"github.com/o7s/ouroboros/tools/tooltest"
)

// TestMain doubles as the obc command when the tests run it as a child.
func TestMain(m *testing.M) {
	if os.Getenv(tooltest.MainEnv) == "1" {
		os.Exit(obc.Main(os.Args[1:]))
	}
	os.Exit(m.Run())
}

func TestArguments(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"--bogus"}, {"-n", "bc", "x"}, {"-n"}} {
		out, err := tooltest.Command(t, "/nonexistent", args...).Output()
		if tooltest.ExitCode(err) != 0 || !strings.HasPrefix(string(out), "Usage: obc [OPTION]...") {
			t.Errorf("obc %q: status %d, output %q", args, tooltest.ExitCode(err), out)
		}
	}
	for _, args := range [][]string{nil, {"-l"}, {"-m", "hi"}} {
		out, err := tooltest.Command(t, "/nonexistent", args...).Output()
		if tooltest.ExitCode(err) != 1 || !strings.HasPrefix(string(out), "Please specify a name.\n\nUsage: obc [OPTION]...") {
			t.Errorf("obc %q: status %d, output %q", args, tooltest.ExitCode(err), out)
		}
	}
	out, err := tooltest.Command(t, "/nonexistent", "-n", "bc", "-m", strings.Repeat("x", obc.MaxMessage+1)).CombinedOutput()
	if tooltest.ExitCode(err) != 1 || !strings.Contains(string(out), "message too long") {
		t.Errorf("a long message: status %d, output %q", tooltest.ExitCode(err), out)
	}
	if out, err := tooltest.Command(t, "/nonexistent", "-n", "bc").CombinedOutput(); tooltest.ExitCode(err) != 1 || !strings.Contains(string(out), "cannot reach the node") {
		t.Errorf("without a node: status %d, output %q", tooltest.ExitCode(err), out)
	}
}

// TestWriterAndReader runs both as commands against a node with a
// broadcast layer.
func TestWriterAndReader(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "irm.sock")
	n, err := irm.Start(irm.Config{Sock: sock})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	id, err := n.CreateIPCP("bc", ipcp.Broadcast)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.BootstrapIPCP(context.Background(), id, ipcp.Config{Layer: "chat"}); err != nil {
		t.Fatal(err)
	}
	rd := tooltest.Command(t, sock, "-n", "chat", "-l")
	stdout, _ := rd.StdoutPipe()
	if err := rd.Start(); err != nil {
		t.Fatal(err)
	}
	defer rd.Process.Kill()
	r := bufio.NewReader(stdout)
	for _, want := range []string{"Starting a reader.\n", "New flow.\n"} {
		if line, _ := r.ReadString('\n'); line != want {
			t.Fatalf("reader said %q, want %q", line, want)
		}
	}
	for _, args := range [][]string{{"-n", "chat"}, {"--name", "chat", "--message", "hello there"}} {
		if out, err := tooltest.Command(t, sock, args...).CombinedOutput(); err != nil || len(out) != 0 {
			t.Fatalf("writer %q: %v, %q", args, err, out)
		}
	}
	for _, want := range []string{"Message is " + obc.DefaultMessage + ".\n", "Message is hello there.\n"} {
		if line, _ := r.ReadString('\n'); line != want {
			t.Fatalf("reader said %q, want %q", line, want)
		}
	}
	if out, err := tooltest.Command(t, sock, "-n", "nochat").CombinedOutput(); tooltest.ExitCode(err) != 1 || !strings.HasPrefix(string(out), "Failed to join broadcast.\n") {
		t.Errorf("writer to no layer: status %d, output %q", tooltest.ExitCode(err), out)
	}
	rd.Process.Signal(syscall.SIGTERM)
	var rest strings.Builder
	r.WriteTo(&rest)
	if err := rd.Wait(); err != nil || rest.Len() != 0 {
		t.Errorf("reader exit: %v, then printed %q", err, rest.String())
	}
}
