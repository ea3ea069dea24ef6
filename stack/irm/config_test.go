package irm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/o7s/ouroboros/stack/ctl"
	"github.com/o7s/ouroboros/stack/errs"
	"github.com/o7s/ouroboros/stack/ipcp"
)

func writeConf(t *testing.T, s string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "irmd.conf")
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestApplyConfig(t *testing.T) {
	n := New(Config{})
	defer n.Close()
	p := writeConf(t, `
[name."oping"]
lb = "round-robin"
prog = ["/bin/oping", "/bin/other"]
args = ["--listen"]

[local.lo]
bootstrap = "local"
hash = "SHA3_512"
reg = ["oping", "extra"]

[local.idle]
`)
	if err := n.ApplyConfig(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	l := n.ListIPCPs()
	if len(l) != 2 || l[0].Name != "idle" || l[0].Layer != ipcp.NotEnrolled || l[1].Layer != "local" || l[1].Hash != ipcp.SHA3_512 {
		t.Fatalf("IPCPs = %+v", l)
	}
	names := n.ListNames()
	if len(names) != 2 || names[0].Name != "extra" || names[0].LB != ctl.Spillover || names[1].Name != "oping" || names[1].LB != ctl.RoundRobin || names[1].ServerEnc != "none" {
		t.Fatalf("names = %+v", names)
	}
	nm := n.names["oping"]
	if len(nm.autoExec) != 1 || strings.Join(nm.autoExec[0], " ") != "/bin/oping --listen" || len(nm.progs) != 2 {
		t.Fatalf("oping: auto %v progs %v", nm.autoExec, nm.progs)
	}
	if err := n.ipcps[l[1].ID].impl.Query(context.Background(), ipcp.SHA3_512.Sum("oping")); err != nil {
		t.Fatalf("oping not registered in lo: %v", err)
	}
}

// TestConfigUpper: unicast and broadcast tables bootstrap their IPCPs with
// the options given, bind them to their own and their layer's names
// (autobind) and register names in them, in file order.
func TestConfigUpper(t *testing.T) {
	n := New(Config{})
	defer n.Close()
	p := writeConf(t, `
[unicast."top.a"]
bootstrap = "top"
autobind = true
reg = ["svc"]

[broadcast.bc]
bootstrap = "chat"
autobind = false

[unicast.net]
bootstrap = "net"
routing = "lfa"
congestion = "lfa"
max_ttl = 9
ls_t_update = 2
ls_t_timeo = 7
hash = "SHA3_512"
`)
	if err := n.ApplyConfig(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	fc, err := LoadConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(fc.upper) != 3 || fc.upper[0].name != "top.a" || fc.upper[1].name != "bc" || fc.upper[2].name != "net" {
		t.Fatalf("order %+v, want the file's", fc.upper)
	}
	netConf := fc.Unicast["net"]
	conf, err := netConf.config(ipcp.Unicast)
	if err != nil {
		t.Fatal(err)
	}
	if u := conf.Unicast; u.Routing != 1 || u.Cong != ipcp.CongMBECN || u.MaxTTL != 9 || u.TUpdate != 2*time.Second || u.TTimeo != 7*time.Second || conf.Hash != ipcp.SHA3_512 {
		t.Fatalf("net's configuration %+v hash %v", *u, conf.Hash)
	}
	layers := map[string]string{}
	for _, i := range n.ListIPCPs() {
		layers[i.Name] = i.Layer
	}
	if layers["top.a"] != "top" || layers["bc"] != "chat" || layers["net"] != "net" {
		t.Fatalf("layers %v", layers)
	}
	n.mu.Lock()
	var bound map[string][]string = map[string][]string{}
	for _, e := range n.ipcps {
		if p := n.procs[ipcpPID(e.id)]; p != nil {
			bound[e.name] = append([]string(nil), p.names...)
		}
	}
	n.mu.Unlock()
	if !slices.Equal(bound["top.a"], []string{"top.a", "top"}) || !slices.Equal(bound["bc"], []string{"bc", "chat"}) || len(bound["net"]) != 0 {
		t.Fatalf("bound names %v, want top.a and bc autobound (autobind = false binds too, as in the reference), net not", bound)
	}
	if !slices.ContainsFunc(n.ListNames(), func(ni NameInfo) bool { return ni.Name == "svc" && ni.LB == ctl.Spillover }) {
		t.Fatalf("names %v lack svc", n.ListNames())
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct{ conf, want string }{
		{"[bogus.x]\n", `unknown toplevel key "bogus"`},
		{"[local.lo]\nbootstrp = \"x\"\n", "bootstrp"},
		{"[name.a]\nlb = \"fast\"\n", `lb = "fast"`},
		{"[unicast.u]\nbootstrap = \"x\"\nenrol = \"y\"\n", "both bootstrap and enrol"},
		{"[unicast.u]\nbootstrap = \"x\"\nconn = [\"y\"]\n", "conn applies to an IPCP that enrols"},
		{"[unicast.u]\nenrol = \"x\"\nrouting = \"lfa\"\n", "gets the layer's from its enroller"},
		{"[unicast.u]\nbootstrap = \"x\"\nrouting = \"ospf\"\n", `routing = "ospf"`},
		{"[unicast.u]\nbootstrap = \"x\"\ncongestion = \"cubic\"\n", `congestion = "cubic"`},
		{"[unicast.u]\nbootstrap = \"x\"\ndht_k = 30\n", "dht_k = 30 is not in 1..20"},
		{"[unicast.u]\nbootstrap = \"x\"\nls_t_update = 10\nls_t_timeo = 5\n", "t_timeo 5s at least t_update"},
		{"[unicast.u]\nbootstrap = \"x\"\ndev = \"e1\"\n", "dev"},
		{"[broadcast.b]\nbootstrap = \"x\"\nmax_ttl = 3\n", "takes no bootstrap options"},
		{"[eth-dix.e]\nbootstrap = \"l\"\n", "needs an interface name"},
		{"[eth-dix.e]\nbootstrap = \"l\"\ndev = \"e1\"\nethertype = 12\n", "ethertype"},
		{"[udp4.u]\nbootstrap = \"l\"\nip = \"::1\"\n", "does not suit"},
		{"[udp6.u]\nbootstrap = \"l\"\nip = \"::1\"\nport = 70000\n", "port 70000"},
		{"[local.lo]\nenrol = \"x\"\n", "cannot enrol"},
		{"[local.lo]\nbootstrap = \"l\"\nhash = \"MD4\"\n", "unknown hash"},
		{"[name.a]\nserver_crt_file = \"/nonexistent/crt.pem\"\n", "/nonexistent/crt.pem: no such file"},
		{"[name.a\n", "config"},
	} {
		n := New(Config{})
		err := n.ApplyConfig(context.Background(), writeConf(t, tc.conf))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err = %v, want it to mention %q", tc.conf, err, tc.want)
		}
		if len(n.ListIPCPs())+len(n.ListNames()) != 0 {
			t.Errorf("%q: a bad file created something", tc.conf)
		}
		n.Close()
	}
}

// setEnrolRetry shortens the enrolment retries for a test.
func setEnrolRetry(t *testing.T, total, first, most time.Duration) {
	t.Helper()
	f, a, m := enrolRetryFor, enrolRetryFirst, enrolRetryMax
	enrolRetryFor, enrolRetryFirst, enrolRetryMax = total, first, most
	t.Cleanup(func() { enrolRetryFor, enrolRetryFirst, enrolRetryMax = f, a, m })
}

// TestConfigEnrolRetry: an enrolment whose enroller nobody serves is
// tried again until enrolRetryFor has passed, then fails with the last
// error; a cancelled context ends the retries at once.
func TestConfigEnrolRetry(t *testing.T) {
	setEnrolRetry(t, 600*time.Millisecond, 50*time.Millisecond, 100*time.Millisecond)
	conf := writeConf(t, "[unicast.u]\nenrol = \"nowhere\"\n")
	n := New(Config{})
	defer n.Close()
	start := time.Now()
	err := n.ApplyConfig(context.Background(), conf)
	took := time.Since(start)
	if !errors.Is(err, errs.ErrIPCP) || !strings.Contains(err.Error(), "tries in") {
		t.Fatalf("err = %v, want the enroller's absence after several tries", err)
	}
	if took < 450*time.Millisecond || took > 5*time.Second {
		t.Fatalf("gave up after %v, want about 600ms", took)
	}

	setEnrolRetry(t, time.Minute, 50*time.Millisecond, 100*time.Millisecond)
	m := New(Config{})
	defer m.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start = time.Now()
	err = m.ApplyConfig(ctx, conf)
	if err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("err = %v after %v, want a failure soon after the context ended", err, time.Since(start))
	}
}

func TestEnrolRetriable(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("no flow to x in a lower layer: %w", errs.ErrIPCP), true},
		{fmt.Errorf("x does not answer as an enroller: %w", errs.ErrTimeout), true},
		{fmt.Errorf("read: %w", errs.ErrFlowDown), true},
		{fmt.Errorf("read: %w", errs.ErrFlowPeer), true},
		{fmt.Errorf("refused: %w", errs.ErrAuth), false},
		{fmt.Errorf("%w: in layer net already", errs.ErrIPCPState), false},
		{errors.New("unicast: the layer's configuration is not supported here"), false},
	} {
		if got := enrolRetriable(tc.err); got != tc.want {
			t.Errorf("enrolRetriable(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
