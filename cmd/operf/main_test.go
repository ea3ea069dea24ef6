package main

import (
	"github.com/o7s/ouroboros/tools/tooltest"

	"bufio"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/o7s/ouroboros/stack/dev"
	"github.com/o7s/ouroboros/stack/irm"
	"github.com/o7s/ouroboros/tools/operf"
)

// TestMain doubles as the operf command when the tests run it as a child.
func TestMain(m *testing.M) {
	if os.Getenv(tooltest.MainEnv) == "1" {
		os.Exit(operf.Main(os.Args[1:]))
	}
	os.Exit(m.Run())
}

func TestArguments(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		status int
		out    string
	}{
		{[]string{"--help"}, 0, "Usage: operf [OPTION]..."},
		{[]string{"-h"}, 0, "Usage: operf [OPTION]..."},
		{[]string{"--bogus"}, 0, "Unknown option: --bogus.\nUsage: operf"}, // the reference exits 0
		{nil, 1, "No server specified.\n"},
		{[]string{"-n", "x", "-t", "tri"}, 1, "Invalid test type.\n"},
		{[]string{"-n", "x", "-r", "5T"}, 1, "Unknown rate unit: T.\n"},
		{[]string{"-n", "x", "-d", "5y"}, 1, "Unknown time unit: y.\n"},
	} {
		out, err := tooltest.Command(t, "/nonexistent", tc.args...).Output()
		if tooltest.ExitCode(err) != tc.status || !strings.HasPrefix(string(out), tc.out) {
			t.Errorf("operf %q: status %d, output %q; want %d, %q", tc.args, tooltest.ExitCode(err), out, tc.status, tc.out)
		}
	}
}

// startServer starts an operf server on a new node; unless quiet, it
// prints what it receives to the buffer returned.
func startServer(t *testing.T, quiet bool) (string, *tooltest.Buffer) {
	sock := filepath.Join(t.TempDir(), "irm.sock")
	n, err := irm.Start(irm.Config{Sock: sock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	c, err := dev.DialAs(context.Background(), sock, "operf")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := n.BindProcess(c.PID(), "operf"); err != nil {
		t.Fatal(err)
	}
	cfg := operf.DefaultConfig()
	cfg.Listen, cfg.Quiet = true, quiet
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	out := &tooltest.Buffer{}
	go func() { operf.Serve(ctx, cfg, c, out); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return sock, out
}

func TestBi(t *testing.T) {
	sock, _ := startServer(t, true)
	out, err := tooltest.Command(t, sock, "-n", "operf", "-t", "bi", "-f", "-d", "200ms", "-s", "1400").Output()
	m := regexp.MustCompile(`(\d+) packets transmitted, (\d+) received, 0% packet loss`).FindStringSubmatch(string(out))
	if err != nil || m == nil || m[1] != m[2] {
		t.Errorf("status %d, output:\n%s", tooltest.ExitCode(err), out)
	}
}

func TestSignalPrintsStatistics(t *testing.T) {
	sock, srvOut := startServer(t, false)
	c := tooltest.Command(t, sock, "-n", "operf", "-f", "-d", "1m", "-s", "64")
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
			t.Fatalf("no Flooding line: %v", err)
		}
		if strings.HasPrefix(line, "Flooding") {
			break
		}
	}
	srvOut.WaitFor(t, "Seqno") // a packet has gone: the statistics count it
	c.Process.Signal(syscall.SIGINT)
	var rest strings.Builder
	r.WriteTo(&rest)
	if err := c.Wait(); err != nil {
		t.Errorf("exit: %v", err)
	}
	if !regexp.MustCompile(`Test finished.\n\n--- operf perf statistics ---\n[1-9]\d* packets transmitted, time: `).MatchString(rest.String()) {
		t.Errorf("output after SIGINT:\n%s", rest.String())
	}
}
