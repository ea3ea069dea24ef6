package irm_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/o7s/ouroboros/stack/ctl"
	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/stack/irm"
	"github.com/o7s/ouroboros/stack/oap"
	"github.com/o7s/ouroboros/stack/qos"
)

// A flow request whose OAP header is missing, stale or replayed is refused
// before an acceptor is taken: the acceptor goes on waiting, no flow leaks.
func TestFlowRequestOAPChecked(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "irm.sock")
	n := startNode(t, irm.Config{Sock: sock})
	id, _ := n.CreateIPCP("lo", ipcp.Local)
	n.BootstrapIPCP(context.Background(), id, ipcp.Config{Layer: "local", Hash: ipcp.SHA3_256})
	srv := attach(t, n, sock, "srv")
	n.BindProcess(srv.PID(), "echo")
	errc := echoOnce(t, srv)
	waitFlows(t, n, 1) // the pending accept
	hash := ipcp.SHA3_256.Sum("echo")
	ctx := ctxT(t, 5*time.Second)
	good := oap.NewRequest(time.Now()).Bytes
	for name, data := range map[string][]byte{
		"no header": nil,
		"stale":     oap.NewRequest(time.Now().Add(-time.Minute)).Bytes,
		"garbage":   []byte("not an OAP header at all, but long enough"),
	} {
		if _, err := n.FlowReqArr(ctx, id, hash, qos.Raw, time.Second, data); !errors.Is(err, ctl.ErrAuth) {
			t.Errorf("%s: FlowReqArr = %v, want ErrAuth", name, err)
		}
	}
	f, err := n.FlowReqArr(ctx, id, hash, qos.Raw, time.Second, good)
	if err != nil {
		t.Fatalf("a good request: %v", err)
	}
	if _, err := n.FlowReqArr(ctx, id, hash, qos.Raw, time.Second, good); !errors.Is(err, ctl.ErrAuth) {
		t.Errorf("the same request again: %v, want ErrAuth (replay)", err)
	}
	f.End.Close()
	n.FlowDeallocated(f.Key)
	select {
	case <-errc:
	case <-time.After(5 * time.Second):
		t.Fatal("the acceptor never saw its flow end")
	}
	waitFlows(t, n, 0)
}
