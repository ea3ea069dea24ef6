package ovpn

import (
	"bufio"
	"context"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/o7s/ouroboros/tools/tooltest"
)

// TestMain doubles as the ovpn command when the tests run it as a child.
func TestMain(m *testing.M) {
	if os.Getenv(tooltest.MainEnv) == "1" {
		os.Exit(Main(os.Args[1:]))
	}
	os.Exit(m.Run())
}

func TestHelp(t *testing.T) {
	out, err := tooltest.Command(t, "/nonexistent", "--help").Output()
	if err != nil || !strings.HasPrefix(string(out), "Usage: ovpn [OPTION]...\n") {
		t.Errorf("--help: %v, %q", err, out)
	}
	out, err = tooltest.Command(t, "/nonexistent", "--version").Output()
	if err != nil || !strings.HasPrefix(string(out), "ovpn (Ouroboros in Go) ") {
		t.Errorf("--version: %v, %q", err, out)
	}
}

// serveIn runs an in-process server with its device in namespace ns until
// the returned stop.
func serveIn(t *testing.T, tn *tooltest.Node, cfg Config) (*tooltest.Buffer, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	out := &tooltest.Buffer{}
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, cfg, tn.Srv, out) }()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			if err := <-done; err != nil {
				t.Errorf("server: %v", err)
			}
		}
	}
	t.Cleanup(stop)
	return out, stop
}

// TestSignal: the ovpn command, a client in a namespace of its own, ends
// on SIGTERM and its device goes with it.
func TestSignal(t *testing.T) {
	privileged(t)
	names, hs := twoNetns(t)
	tn := tooltest.Start(t, "ovpn", true)
	srvOut, _ := serveIn(t, tn, Config{IP4: netip.MustParsePrefix("10.77.0.1/24"), NS: int(hs[0])})
	c := tooltest.Command(t, tn.Srv.Sock(), "-n", "ovpn", "-i", "10.77.0.2", "-m", "255.255.255.0", "--dev", "ovt-cli")
	c.Args = append([]string{"ip", "netns", "exec", names[1], c.Path}, c.Args[1:]...)
	c.Path, _ = exec.LookPath("ip")
	stdout, _ := c.StdoutPipe()
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	defer c.Process.Kill()
	r := bufio.NewReader(stdout)
	var head strings.Builder
	for !strings.Contains(head.String(), "Starting read/write threads.") {
		line, err := r.ReadString('\n')
		head.WriteString(line)
		if err != nil {
			t.Fatalf("ovpn: %v; output:\n%s", err, head.String())
		}
	}
	if want := "Allocating a flow to ovpn.\nFlow allocated.\nTunnel device name is ovt-cli.\n"; !strings.HasPrefix(head.String(), want) {
		t.Errorf("output:\n%s\nwant it to start\n%s", head.String(), want)
	}
	if err := ping(hs[1], netip.MustParseAddr("10.77.0.1")); err != nil {
		t.Errorf("ping: %v", err)
	}
	c.Process.Signal(syscall.SIGTERM)
	rest, _ := readAll(r)
	if err := c.Wait(); err != nil || !strings.HasPrefix(rest, "Shutting down...\n") {
		t.Errorf("after SIGTERM: %v, output:\n%s", err, rest)
	}
	if ls := linksIn(t, hs[1]); strings.Contains(strings.Join(ls, " "), "ovt-cli") {
		t.Errorf("the device is still there: %v", ls)
	}
	srvOut.WaitFor(t, "down")
}

func readAll(r *bufio.Reader) (string, error) {
	var b strings.Builder
	_, err := r.WriteTo(&b)
	return b.String(), err
}

// TestReconnect: when the server goes away the client's flow goes down; it
// allocates again, with backoff, and the tunnel works again.
func TestReconnect(t *testing.T) {
	privileged(t)
	defer func(f, m time.Duration) { firstBackoff, maxBackoff = f, m }(firstBackoff, maxBackoff)
	firstBackoff, maxBackoff = 50*time.Millisecond, 200*time.Millisecond
	_, hs := twoNetns(t)
	tn := tooltest.Start(t, "ovpn", true)
	srvCfg := Config{IP4: netip.MustParsePrefix("10.77.0.1/24"), NS: int(hs[0])}
	srvOut, stopSrv := serveIn(t, tn, srvCfg)

	ctx, cancel := context.WithCancel(context.Background())
	cliOut := &tooltest.Buffer{}
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Config{Name: "ovpn", IP4: netip.MustParsePrefix("10.77.0.2/24"), NS: int(hs[1])}, tn.Cli, cliOut)
	}()
	defer func() { cancel(); <-done }()
	srvOut.WaitFor(t, "Starting read/write threads.")
	cliOut.WaitFor(t, "Starting read/write threads.")
	if err := ping(hs[1], netip.MustParseAddr("10.77.0.1")); err != nil {
		t.Fatalf("ping: %v", err)
	}
	stopSrv()
	cliOut.WaitFor(t, "Flow down")
	srvOut2, _ := serveIn(t, tn, srvCfg)
	srvOut2.WaitFor(t, "Starting read/write threads.")
	if err := ping(hs[1], netip.MustParseAddr("10.77.0.1")); err != nil {
		t.Errorf("ping after the reconnection: %v\nclient:\n%s", err, cliOut)
	}
	t.Logf("client:\n%s", cliOut)
}
