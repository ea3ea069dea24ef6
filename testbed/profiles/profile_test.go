package profiles

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestShippedReference(t *testing.T) {
	p, err := Load("reference", "")
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "reference" || p.File != "" {
		t.Errorf("name %q file %q", p.Name, p.File)
	}
	if got := p.Daemon.Words(); !slices.Equal(got, []string{"irmd", "--stdout"}) {
		t.Errorf("daemon %q", got)
	}
	if p.Shm != 256<<20 {
		t.Errorf("shm %d", p.Shm)
	}
	for _, typ := range []string{"eth-dix", "eth-llc", "udp4", "udp6", "unicast", "broadcast"} {
		if !p.Supports(typ) {
			t.Errorf("no bootstrap for %s", typ)
		}
	}
	cmds, err := p.Steps.Bootstrap["eth-dix"].Expand(map[string]string{"ipcp": "eth.a", "layer": "eth", "dev": "e1", "ethertype": "0xa000", "hash": "SHA3_256"})
	if err != nil {
		t.Fatal(err)
	}
	want := "irm ipcp bootstrap name eth.a layer eth type eth-dix dev e1 ethertype 0xa000 hash SHA3_256"
	if len(cmds) != 1 || strings.Join(cmds[0], " ") != want {
		t.Errorf("bootstrap\n got %q\nwant %q", cmds, want)
	}
	if len(p.Steps.Enroll) != 2 || p.Steps.Enroll[0] != "irm name create {dst}" {
		t.Errorf("enroll %q: want the peer's name created first", p.Steps.Enroll)
	}
	if p.Tool("oping") != "oping" || p.Tool("obc") != "obc" {
		t.Errorf("tools %v", p.Tools)
	}
}

func TestExpandOptionalGroups(t *testing.T) {
	c := Command("irm ipcp connect name {ipcp} dst {dst} component {comp} [qos {qos}]")
	argv, err := c.Expand(map[string]string{"ipcp": "n.a", "dst": "n.b", "comp": "dt"})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(argv, " "); got != "irm ipcp connect name n.a dst n.b component dt" {
		t.Errorf("without qos: %q", got)
	}
	argv, _ = c.Expand(map[string]string{"ipcp": "n.a", "dst": "n.b", "comp": "dt", "qos": "voice"})
	if got := strings.Join(argv, " "); got != "irm ipcp connect name n.a dst n.b component dt qos voice" {
		t.Errorf("with qos: %q", got)
	}
	// A placeholder outside brackets must have a value.
	if _, err := c.Expand(map[string]string{"ipcp": "n.a", "comp": "dt"}); err == nil || !strings.Contains(err.Error(), "{dst}") {
		t.Errorf("missing dst: %v", err)
	}
	// Placeholders inside a word, and a group of one word.
	argv, err = Command("x --name={name}.{layer} [--v={ip}:{port}]").Expand(map[string]string{"name": "n", "layer": "l", "ip": "10.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(argv, " "); got != "x --name=n.l" {
		t.Errorf("group with one empty placeholder kept: %q", got)
	}
}

func TestParseErrors(t *testing.T) {
	base := `name: x
daemon: d
ready: r
steps:
  create: c {ipcp}
  bootstrap:
    eth-dix: b {dev}
  name: n {name}
  bind: b {ipcp} {name}
  register: r {name} {ipcp}
  enroll: e {ipcp} {dst}
  connect: c {ipcp} {dst} {comp}
`
	if _, err := Parse([]byte(base), "x.yaml"); err != nil {
		t.Fatalf("valid profile: %v", err)
	}
	for _, tc := range []struct{ name, edit, want string }{
		{"unknown key", base + "colour: red\n", "colour"},
		{"unknown placeholder", strings.Replace(base, "c {ipcp}", "c {ipcpp}", 1), "unknown placeholder {ipcpp}"},
		{"no daemon", strings.Replace(base, "daemon: d\n", "", 1), "no daemon command; write daemon: irmd --stdout"},
		{"no enroll", strings.Replace(base, "  enroll: e {ipcp} {dst}\n", "", 1), "no steps.enroll command"},
		{"unknown layer type", strings.Replace(base, "eth-dix:", "ethernet:", 1), `unknown layer type "ethernet"`},
		{"bad brackets", strings.Replace(base, "n {name}", "n [{name}", 1), "a [ with no ]"},
		{"nested brackets", strings.Replace(base, "n {name}", "n [a [{name}] b]", 1), "do not nest"},
		{"bad shm", base + "shm: lots\n", `shm "lots"`},
		{"bad udp_hosts", base + "udp_hosts: \"{sha}\"\n", "udp_hosts: unknown placeholder {sha}"},
		{"no name", strings.Replace(base, "name: x\n", "", 1), "no name"},
		{"list with a number", strings.Replace(base, "  bind: b {ipcp} {name}\n", "  bind:\n    - b {ipcp}\n    - 7\n", 1), "steps.bind: 7 is not a command"},
		{"list with a bad placeholder", strings.Replace(base, "  bind: b {ipcp} {name}\n", "  bind:\n    - x {name}\n    - b {nam}\n", 1), "steps.bind: unknown placeholder {nam}"},
	} {
		_, err := Parse([]byte(tc.edit), "x.yaml")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestLoad(t *testing.T) {
	if _, err := Load("nosuch", ""); err == nil || !strings.Contains(err.Error(), "shipped: reference") {
		t.Errorf("unknown shipped profile: %v", err)
	}
	dir := t.TempDir()
	b, _ := shipped.ReadFile("reference.yaml")
	b = []byte(strings.Replace(string(b), "name: reference", "name: mine", 1))
	if err := os.WriteFile(filepath.Join(dir, "mine.yaml"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := Load("mine.yaml", dir) // relative to the topology's directory
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "mine" || p.File != filepath.Join(dir, "mine.yaml") || p.Describe() != "mine ("+p.File+")" {
		t.Errorf("loaded %q from %q", p.Name, p.File)
	}
	if !IsFile("./x") || !IsFile("x.yml") || IsFile("reference") {
		t.Error("IsFile")
	}
}

func TestHostsLine(t *testing.T) {
	p := &Profile{UDPHosts: "{md5}"}
	got := p.HostsLine("10.0.0.2", "abc")
	if got != "10.0.0.2 900150983cd24fb0d6963f7d28e17f72" { // MD5("abc"), RFC 1321's test suite
		t.Errorf("hosts line %q", got)
	}
	if (&Profile{}).HostsLine("10.0.0.2", "abc") != "" {
		t.Error("a profile without udp_hosts makes a hosts line")
	}
}
