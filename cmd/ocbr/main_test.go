package main

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/o7s/ouroboros/stack/dev"
	"github.com/o7s/ouroboros/stack/irm"
	"github.com/o7s/ouroboros/tools/ocbr"
	"github.com/o7s/ouroboros/tools/tooltest"
)

// TestMain doubles as the ocbr command when the tests run it as a child.
func TestMain(m *testing.M) {
	if os.Getenv(tooltest.MainEnv) == "1" {
		os.Exit(ocbr.Main(os.Args[1:]))
	}
	os.Exit(m.Run())
}

func TestArguments(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		status int
		out    string
		exact  bool // the whole output
	}{
		{[]string{"--help"}, 0, ocbr.Usage, true},
		{[]string{"-h"}, 0, ocbr.Usage, true},
		{[]string{"--bogus"}, 0, "Unknown option: --bogus.\n" + ocbr.Usage, true}, // the reference exits 0
		{[]string{"-n"}, 0, "Option -n needs a value.\n" + ocbr.Usage, true},
		{nil, 1, "No server specified.\n" + ocbr.Usage, true},
		{[]string{"-n", "x", "-s", "524289"}, 1, "Maximum size: 524288.\n", true},
		{[]string{"-n", "x", "-s", "-1"}, 1, "Size overflow.\n", true},
		{[]string{"-n", "x", "-r", "0"}, 1, "Invalid rate.\n", true},
		{[]string{"-n", "x", "-r", "-2k"}, 1, "Invalid rate.\n", true},
		{[]string{"-n", "x", "-r", "5T"}, 1, "Unknown rate unit: T.\n", true},
		{[]string{"-n", "x", "-d", "5s"}, 1, "Invalid duration: 5s.\n", true},
		{[]string{"-l", "-i", "0"}, 1, "Invalid interval: 0.\n", true},
		{[]string{"--version"}, 0, "ocbr ", false},
	} {
		out, err := tooltest.Command(t, "/nonexistent", tc.args...).Output()
		ok := strings.HasPrefix(string(out), tc.out)
		if tc.exact {
			ok = string(out) == tc.out
		}
		if tooltest.ExitCode(err) != tc.status || !ok {
			t.Errorf("ocbr %q: status %d, output %q; want %d, %q", tc.args, tooltest.ExitCode(err), out, tc.status, tc.out)
		}
	}
	// No node: the arguments are fine, the run fails.
	out, err := tooltest.Command(t, filepath.Join(t.TempDir(), "none.sock"), "-n", "x").CombinedOutput()
	if tooltest.ExitCode(err) != 1 || !strings.Contains(string(out), "ocbr: ") {
		t.Errorf("no node: status %d, output %q", tooltest.ExitCode(err), out)
	}
}

// startServer runs an ocbr server in this process on a fresh node, with
// a report every second and a timeout of 300 ms.
func startServer(t *testing.T) (string, *tooltest.Buffer) {
	sock := filepath.Join(t.TempDir(), "irm.sock")
	n, err := irm.Start(irm.Config{Sock: sock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	c, err := dev.DialAs(context.Background(), sock, "ocbr")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := n.BindProcess(c.PID(), "ocbr"); err != nil {
		t.Fatal(err)
	}
	cfg := ocbr.DefaultConfig()
	cfg.Listen, cfg.Timeout = true, 300*time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	out := &tooltest.Buffer{}
	go func() { ocbr.Serve(ctx, cfg, c, out); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	out.WaitFor(t, "Server started")
	return sock, out
}

var (
	sentRE   = regexp.MustCompile(`sent statistics: +(\d+) packets, +\d+ bytes in +\d+ ms, [0-9.]+ Mb/s\n`)
	reportRE = regexp.MustCompile(`Flow   64: +(\d+) packets`)
)

// TestQoSData runs the command for a second over FRCT, --qos data: the
// server counts every packet sent.
func TestQoSData(t *testing.T) {
	sock, srvOut := startServer(t)
	out, err := tooltest.Command(t, sock, "-n", "ocbr", "-d", "1", "-s", "500", "-r", "400k", "--qos", "data").Output()
	m := sentRE.FindStringSubmatch(string(out))
	if err != nil || m == nil || !strings.HasPrefix(string(out), "Client started, duration 1, rate 400000 b/s, size 500 B.\n") ||
		!strings.Contains(string(out), "      FRCT: ") {
		t.Fatalf("status %d, output:\n%s", tooltest.ExitCode(err), out)
	}
	srvOut.WaitFor(t, "Test on flow 64 timed out\nFlow   64:")
	var rcvd int
	for _, r := range reportRE.FindAllStringSubmatch(srvOut.String(), -1) {
		n, _ := strconv.Atoi(r[1])
		rcvd += n
	}
	if sent, _ := strconv.Atoi(m[1]); sent == 0 || sent != rcvd {
		t.Errorf("the client sent %d packets, the server counted %d:\n%s", sent, rcvd, srvOut.String())
	}
}

func TestSignalPrintsStatistics(t *testing.T) {
	sock, srvOut := startServer(t)
	c := tooltest.Command(t, sock, "-n", "ocbr", "-f", "-d", "60", "-s", "64")
	stdout, err := c.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(stdout)
	if line, err := r.ReadString('\n'); err != nil || line != "Client started, duration 60, rate 1000000 b/s, size 64 B.\n" {
		t.Fatalf("first line %q, %v", line, err)
	}
	srvOut.WaitFor(t, "New flow.\n")
	c.Process.Signal(syscall.SIGINT)
	var rest strings.Builder
	r.WriteTo(&rest)
	if err := c.Wait(); err != nil {
		t.Errorf("exit: %v", err)
	}
	if !regexp.MustCompile(`^sent statistics: +\d+ packets, +\d+ bytes in +\d+ ms, [0-9.]+ Mb/s\n$`).MatchString(rest.String()) {
		t.Errorf("output after SIGINT:\n%s", rest.String())
	}
}
