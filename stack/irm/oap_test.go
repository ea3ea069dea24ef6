package irm_test

import (
	"context"
	"errors"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/o7s/ouroboros/internal/wait"
	"github.com/o7s/ouroboros/stack/ctl"
	"github.com/o7s/ouroboros/stack/dev"
	"github.com/o7s/ouroboros/stack/errs"
	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/stack/irm"
	"github.com/o7s/ouroboros/stack/oap"
	"github.com/o7s/ouroboros/stack/qos"
)

// A flow request whose OAP header is missing, stale or malformed is
// refused before an acceptor is taken: the acceptor goes on waiting, and a
// real allocation (OAP request and response through the local IPCP) then
// gets it. Replays are refused by the OAP server (see stack/oap).
func TestFlowRequestOAPChecked(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "irm.sock")
	n := startNode(t, irm.Config{Sock: sock, NoDirect: true})
	id, _ := n.CreateIPCP("lo", ipcp.Local)
	n.BootstrapIPCP(context.Background(), id, ipcp.Config{Layer: "local", Hash: ipcp.SHA3_256})
	n.CreateName("echo", ctl.Spillover)
	n.RegName("echo", id)
	srv := attach(t, n, sock, "srv")
	n.BindProcess(srv.PID(), "echo")
	errc := echoOnce(t, srv)
	waitFlows(t, n, 1) // the pending accept
	hash := ipcp.SHA3_256.Sum("echo")
	ctx := ctxT(t, 5*time.Second)
	for name, data := range map[string][]byte{
		"no header": nil,
		"stale":     oap.NewRequest(time.Now().Add(-time.Minute)).Bytes,
		"garbage":   []byte("not an OAP header at all, but long enough"),
	} {
		if _, err := n.FlowReqArr(ctx, id, hash, qos.Raw, time.Second, data); !errors.Is(err, errs.ErrAuth) {
			t.Errorf("%s: FlowReqArr = %v, want ErrAuth", name, err)
		}
	}
	waitFlows(t, n, 1) // still waiting, nothing leaked
	cli := attach(t, n, sock, "cli")
	f, err := cli.Alloc(ctx, "echo", qos.Raw)
	if err != nil {
		t.Fatalf("a real allocation after the refusals: %v", err)
	}
	checkEcho(t, f, 10)
	f.Close()
	if err := <-errc; !errors.Is(err, dev.ErrFlowDown) {
		t.Errorf("server after the client closed: %v", err)
	}
	waitFlows(t, n, 0)
}

// A process whose entry was removed (unbind process without a name) and
// that announces again keeps its new entry when its old session closes.
func TestOldSessionLeavesNewEntry(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "irm.sock")
	n := startNode(t, irm.Config{Sock: sock})
	c1, err := dev.DialAs(context.Background(), sock, "app")
	if err != nil {
		t.Fatal(err)
	}
	if err := n.UnbindProcess(c1.PID(), ""); err != nil {
		t.Fatal(err)
	}
	c2 := attach(t, n, sock, "app")
	c1.Close()
	// The node ends a session in a goroutine of its own, which reaps (or
	// must not reap) the entry on its way out: wait until it has returned.
	wait.For(t, "the old session to end", func() bool { return sessions() == 1 })
	if err := n.BindProcess(c2.PID(), "x"); err != nil {
		t.Fatalf("bind after the old session closed: %v (the new entry was reaped)", err)
	}
}

// sessions counts the node's session goroutines, one per attached client
// (no test of the package runs in parallel with another).
func sessions() int {
	buf := make([]byte, 1<<20)
	return strings.Count(string(buf[:runtime.Stack(buf, true)]), "irm.(*Node).session(")
}
