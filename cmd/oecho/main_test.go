package main

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/o7s/ouroboros/stack/irm"
)

// TestMain doubles as the oecho command when the tests run it as a child.
func TestMain(m *testing.M) {
	if os.Getenv("O7S_TEST_MAIN") == "1" {
		os.Exit(run(os.Args[1:]))
	}
	os.Exit(m.Run())
}

func command(t *testing.T, sock string, args ...string) *exec.Cmd {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	c := exec.Command(exe, args...)
	c.Env = append(os.Environ(), "O7S_TEST_MAIN=1", "OUROBOROS_SOCK="+sock)
	return c
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

func TestArguments(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"--bogus"}} {
		out, err := command(t, "/nonexistent", args...).Output()
		if exitCode(err) != 0 || !strings.HasPrefix(string(out), "Usage: oecho [OPTION]...") {
			t.Errorf("oecho %q: status %d, output %q", args, exitCode(err), out)
		}
	}
	if out, err := command(t, "/nonexistent").CombinedOutput(); exitCode(err) != 1 || !strings.Contains(string(out), "cannot reach the node") {
		t.Errorf("without a node: status %d, output %q", exitCode(err), out)
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
	srv := command(t, sock, "-l")
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
		out, err := command(t, sock).Output()
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
