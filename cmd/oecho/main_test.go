package main

import (
	"github.com/o7s/ouroboros/tools/tooltest"

	"bufio"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/o7s/ouroboros/stack/irm"
	"github.com/o7s/ouroboros/tools/oecho"
)

// TestMain doubles as the oecho command when the tests run it as a child.
func TestMain(m *testing.M) {
	if os.Getenv(tooltest.MainEnv) == "1" {
		os.Exit(oecho.Main(os.Args[1:]))
	}
	os.Exit(m.Run())
}

func TestArguments(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"--bogus"}} {
		out, err := tooltest.Command(t, "/nonexistent", args...).Output()
		if tooltest.ExitCode(err) != 0 || !strings.HasPrefix(string(out), "Usage: oecho [OPTION]...") {
			t.Errorf("oecho %q: status %d, output %q", args, tooltest.ExitCode(err), out)
		}
	}
	if out, err := tooltest.Command(t, "/nonexistent").CombinedOutput(); tooltest.ExitCode(err) != 1 || !strings.Contains(string(out), "cannot reach the node") {
		t.Errorf("without a node: status %d, output %q", tooltest.ExitCode(err), out)
	}
}

// TestClientAndServer runs both as commands: the server is bound to oecho
// by its program name, as irm bind program does.
func TestClientAndServer(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "irm.sock")
	n, err := irm.Start(irm.Config{Sock: sock})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	exe, _ := os.Executable()
	if err := n.BindProgram([]string{exe}, "oecho", false); err != nil {
		t.Fatal(err)
	}
	srv := tooltest.Command(t, sock, "-l")
	stdout, _ := srv.StdoutPipe()
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Process.Kill()
	r := bufio.NewReader(stdout)
	if line, _ := r.ReadString('\n'); line != "Starting the server.\n" {
		t.Fatalf("server said %q", line)
	}
	for range 3 {
		out, err := tooltest.Command(t, sock).Output()
		if err != nil || string(out) != "Server replied with Client says hi!\n" {
			t.Fatalf("client: %v, %q", err, out)
		}
	}
	srv.Process.Signal(syscall.SIGTERM)
	var rest strings.Builder
	r.WriteTo(&rest)
	if err := srv.Wait(); err != nil {
		t.Errorf("server exit: %v", err)
	}
	if want := strings.Repeat("New flow.\nMessage from client is Client says hi!.\n", 3); rest.String() != want {
		t.Errorf("server printed %q", rest.String())
	}
}
