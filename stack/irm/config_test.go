package irm

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
	if len(names) != 2 || names[0] != (NameInfo{"extra", Spillover}) || names[1] != (NameInfo{"oping", RoundRobin}) {
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

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct{ conf, want string }{
		{"[bogus.x]\n", `unknown toplevel key "bogus"`},
		{"[local.lo]\nbootstrp = \"x\"\n", "bootstrp"},
		{"[name.a]\nlb = \"fast\"\n", `lb = "fast"`},
		{"[unicast.u]\nbootstrap = \"x\"\n", "cannot be set up from the configuration file yet"},
		{"[eth-dix.e]\nbootstrap = \"l\"\n", "needs an interface name"},
		{"[eth-dix.e]\nbootstrap = \"l\"\ndev = \"e1\"\nethertype = 12\n", "ethertype"},
		{"[udp4.u]\nbootstrap = \"l\"\nip = \"::1\"\n", "does not suit"},
		{"[udp6.u]\nbootstrap = \"l\"\nip = \"::1\"\nport = 70000\n", "port 70000"},
		{"[local.lo]\nenrol = \"x\"\n", "cannot enrol"},
		{"[local.lo]\nbootstrap = \"l\"\nhash = \"MD4\"\n", "unknown hash"},
		{"[name.a]\nserver_crt_file = \"/x\"\n", "not supported yet"},
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
