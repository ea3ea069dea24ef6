package main

import (
	"github.com/o7s/ouroboros/tools/tooltest"

	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/o7s/ouroboros/stack/dev"
	"github.com/o7s/ouroboros/stack/irm"
	"github.com/o7s/ouroboros/tools/oping"
)

// TestMain doubles as the oping command when the tests run it as a child.
func TestMain(m *testing.M) {
	if os.Getenv(tooltest.MainEnv) == "1" {
		os.Exit(oping.Main(os.Args[1:]))
	}
	os.Exit(m.Run())
}

func TestArguments(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		status int
		out    string
	}{
		{[]string{"--help"}, 0, "Usage: oping [OPTION]..."},
		{[]string{"-h"}, 0, "Usage: oping [OPTION]..."},
		{[]string{"--bogus"}, 1, "Unknown option: --bogus.\nUsage: oping"},
		{nil, 1, "No server specified.\nUsage: oping"},
		{[]string{"-n", "x", "-i", "5y"}, 1, "Unknown time unit: y.\n"},
	} {
		out, err := tooltest.Command(t, "/nonexistent", tc.args...).Output()
		if tooltest.ExitCode(err) != tc.status || !strings.HasPrefix(string(out), tc.out) {
			t.Errorf("oping %q: status %d, output %q; want %d, %q", tc.args, tooltest.ExitCode(err), out, tc.status, tc.out)
		}
	}
}

// startServer runs an oping server in this process on a fresh node.
func startServer(t *testing.T) string {
	sock := filepath.Join(t.TempDir(), "irm.sock")
	n, err := irm.Start(irm.Config{Sock: sock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	c, err := dev.DialAs(context.Background(), sock, "oping")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := n.BindProcess(c.PID(), "oping"); err != nil {
		t.Fatal(err)
	}
	cfg := oping.DefaultConfig()
	cfg.Listen, cfg.Quiet = true, true
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { oping.Serve(ctx, cfg, c, &bytes.Buffer{}); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return sock
}

func TestPing(t *testing.T) {
	sock := startServer(t)
	out, err := tooltest.Command(t, sock, "-n", "oping", "-c", "20", "-i", "0").Output()
	if err != nil || !strings.Contains(string(out), "20 packets transmitted, 20 received, 0 out-of-order, 0% packet loss") {
		t.Errorf("status %d, output:\n%s", tooltest.ExitCode(err), out)
	}

	for _, q := range []string{"data", "voice", "video", "best"} {
		out, err = tooltest.Command(t, sock, "-n", "oping", "-q", q, "-c", "5", "-i", "0").Output()
		if err != nil || !strings.Contains(string(out), "5 packets transmitted, 5 received, 0 out-of-order, 0% packet loss") {
			t.Errorf("-q %s: status %d, output:\n%s", q, tooltest.ExitCode(err), out)
		}
	}
}

func TestSignalPrintsStatistics(t *testing.T) {
	sock := startServer(t)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		c := tooltest.Command(t, sock, "-n", "oping", "-i", "10ms")
		stdout, err := c.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		r := bufio.NewReader(stdout)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("no seq=3 line: %v", err)
			}
			if strings.Contains(line, "seq=3 ") {
				break
			}
		}
		c.Process.Signal(sig)
		var rest strings.Builder
		r.WriteTo(&rest)
		done := make(chan error, 1)
		go func() { done <- c.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("%v: %v", sig, err)
			}
		case <-time.After(5 * time.Second):
			c.Process.Kill()
			t.Fatalf("%v: oping did not stop", sig)
		}
		if !strings.Contains(rest.String(), "--- oping ping statistics ---\n") {
			t.Errorf("%v: no statistics:\n%s", sig, rest.String())
		}
	}
}
