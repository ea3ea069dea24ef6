package irm_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/o7s/ouroboros/internal/wait"
	"github.com/o7s/ouroboros/stack/ctl"
	"github.com/o7s/ouroboros/stack/dev"
	"github.com/o7s/ouroboros/stack/errs"
	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/stack/irm"
	"github.com/o7s/ouroboros/stack/qos"
)

func startNode(t testing.TB, cfg irm.Config) *irm.Node {
	t.Helper()
	if cfg.Sock == "" {
		cfg.Sock = filepath.Join(t.TempDir(), "irm.sock")
	}
	if tt, ok := t.(*testing.T); ok && testing.Verbose() {
		cfg.Log = slog.New(slog.NewTextHandler(tt.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	n, err := irm.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

func attach(t testing.TB, n *irm.Node, sock, prog string) *dev.Client {
	t.Helper()
	c, err := dev.DialAs(context.Background(), sock, prog)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func ctxT(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// echoOnce accepts one flow and echoes every SDU until the flow ends.
func echoOnce(t testing.TB, c *dev.Client) <-chan error {
	errc := make(chan error, 1)
	go func() {
		f, err := c.Accept(context.Background())
		if err != nil {
			errc <- err
			return
		}
		defer f.Close()
		buf := make([]byte, dev.MaxSDU)
		for {
			n, err := f.Read(buf)
			if err != nil {
				errc <- err
				return
			}
			if _, err := f.Write(buf[:n]); err != nil {
				errc <- err
				return
			}
		}
	}()
	return errc
}

func checkEcho(t testing.TB, f *dev.Flow, count int) {
	t.Helper()
	buf := make([]byte, dev.MaxSDU)
	for i := range count {
		msg := bytes.Repeat([]byte{byte(i)}, 64+i*37%1400)
		sum := sha256.Sum256(msg)
		if _, err := f.Write(msg); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		n, err := f.Read(buf)
		if err != nil {
			t.Fatalf("read %d: %v", i, err)
		}
		if sha256.Sum256(buf[:n]) != sum {
			t.Fatalf("echo %d: payload differs (%d bytes, want %d)", i, n, len(msg))
		}
	}
}

func waitFlows(t testing.TB, n *irm.Node, want int) {
	t.Helper()
	if !wait.Until(5*time.Second, func() bool { return len(n.Flows()) == want }) {
		t.Fatalf("flow table has %d flows, want %d: %+v", len(n.Flows()), want, n.Flows())
	}
}

func TestDirectFlow(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "irm.sock")
	n := startNode(t, irm.Config{Sock: sock})
	srv := attach(t, n, sock, "srv")
	cli := attach(t, n, sock, "cli")
	if err := n.BindProcess(srv.PID(), "echo"); err != nil {
		t.Fatal(err)
	}
	errc := echoOnce(t, srv)
	f, err := cli.Alloc(ctxT(t, 5*time.Second), "echo", qos.Raw)
	if err != nil {
		t.Fatal(err)
	}
	if !f.Direct() || f.FD() != 64 {
		t.Errorf("flow direct=%v fd=%d, want direct with fd 64", f.Direct(), f.FD())
	}
	checkEcho(t, f, 100)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); !errors.Is(err, dev.ErrFlowClosed) {
		t.Errorf("second Close = %v, want ErrFlowClosed", err)
	}
	if err := <-errc; !errors.Is(err, dev.ErrFlowDown) {
		t.Errorf("server read after client close = %v, want ErrFlowDown", err)
	}
	waitFlows(t, n, 0)
}

func TestLocalIPCPFlow(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "irm.sock")
	n := startNode(t, irm.Config{Sock: sock, NoDirect: true})
	id, err := n.CreateIPCP("lo", ipcp.Local)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.BootstrapIPCP(context.Background(), id, ipcp.Config{Layer: "local", Hash: ipcp.SHA3_256}); err != nil {
		t.Fatal(err)
	}
	srv := attach(t, n, sock, "srv")
	cli := attach(t, n, sock, "cli")
	if err := n.BindProcess(srv.PID(), "echo"); err != nil {
		t.Fatal(err)
	}
	if err := n.RegName("echo", id); err != nil {
		t.Fatal(err)
	}
	errc := echoOnce(t, srv)
	f, err := cli.Alloc(ctxT(t, 5*time.Second), "echo", qos.Raw)
	if err != nil {
		t.Fatal(err)
	}
	if f.Direct() || f.MPL() != 100*time.Millisecond {
		t.Errorf("flow direct=%v mpl=%v, want through the local IPCP with MPL 100ms", f.Direct(), f.MPL())
	}
	if got := len(n.Flows()); got != 2 {
		t.Errorf("flow table has %d flows, want 2 (one per application end)", got)
	}
	checkEcho(t, f, 100)
	f.Close()
	if err := <-errc; !errors.Is(err, dev.ErrFlowDown) {
		t.Errorf("server read after client close = %v, want ErrFlowDown", err)
	}
	waitFlows(t, n, 0)
}

func TestAllocUnknownName(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "irm.sock")
	n := startNode(t, irm.Config{Sock: sock})
	cli := attach(t, n, sock, "cli")
	_, err := cli.Alloc(ctxT(t, 5*time.Second), "nobody", qos.Raw)
	if !errors.Is(err, errs.ErrIPCP) {
		t.Fatalf("Alloc(nobody) = %v, want ErrIPCP", err)
	}
	waitFlows(t, n, 0)
}

func TestAcceptUnboundTimesOutClearly(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "irm.sock")
	n := startNode(t, irm.Config{Sock: sock})
	srv := attach(t, n, sock, "srv")
	_, err := srv.Accept(ctxT(t, 100*time.Millisecond))
	if !errors.Is(err, dev.ErrTimeout) {
		t.Fatalf("Accept = %v, want ErrTimeout", err)
	}
	waitFlows(t, n, 0)
}

// TestMain doubles as the echo server child of TestProcessDeath.
func TestMain(m *testing.M) {
	if os.Getenv("O7S_TEST_CHILD") == "echo" {
		c, err := dev.Dial(context.Background(), os.Getenv("OUROBOROS_SOCK"))
		if err != nil {
			os.Exit(3)
		}
		fmt.Println("ready")
		<-echoOnce(nil, c)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestProcessDeathReapsEverything(t *testing.T) {
	for _, noDirect := range []bool{false, true} {
		t.Run(fmt.Sprintf("direct=%v", !noDirect), func(t *testing.T) {
			sock := filepath.Join(t.TempDir(), "irm.sock")
			n := startNode(t, irm.Config{Sock: sock, NoDirect: noDirect})
			id, _ := n.CreateIPCP("lo", ipcp.Local)
			n.BootstrapIPCP(context.Background(), id, ipcp.Config{Layer: "local", Hash: ipcp.SHA3_256})
			n.CreateName("echo", ctl.RoundRobin)
			n.RegName("echo", id)
			exe, _ := os.Executable()
			if err := n.BindProgram([]string{exe}, "echo", false); err != nil {
				t.Fatal(err)
			}
			child := exec.Command(exe)
			child.Env = append(os.Environ(), "O7S_TEST_CHILD=echo", "OUROBOROS_SOCK="+sock)
			out, _ := child.StdoutPipe()
			if err := child.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { child.Process.Kill(); child.Wait() })
			bufio.NewReader(out).ReadString('\n')
			cli := attach(t, n, sock, "cli")
			f, err := cli.Alloc(ctxT(t, 5*time.Second), "echo", qos.Raw)
			if err != nil {
				t.Fatal(err)
			}
			checkEcho(t, f, 10)
			child.Process.Kill()
			child.Wait()
			f.SetReadTimeout(5 * time.Second)
			if _, err := f.Read(make([]byte, 64)); !errors.Is(err, dev.ErrFlowDown) {
				t.Fatalf("client read after the server died = %v, want ErrFlowDown", err)
			}
			if _, err := f.Write(make([]byte, 64)); !errors.Is(err, dev.ErrFlowDown) {
				t.Fatalf("client write after the server died = %v, want ErrFlowDown", err)
			}
			f.Close()
			waitFlows(t, n, 0)
			if len(n.ListNames()) != 1 {
				t.Errorf("names = %+v, want echo kept (only the binding goes)", n.ListNames())
			}
		})
	}
}
