package irmcli

import (
	"bytes"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/o7s/ouroboros/internal/version"
	"github.com/o7s/ouroboros/stack/ipcp"
)

// run runs irm with args against the socket sock and returns the exit
// status, stdout and stderr.
func run(t testing.TB, sock string, args ...string) (int, string, string) {
	t.Helper()
	var out, errw bytes.Buffer
	code := Main(append([]string{"--sock", sock}, args...), &out, &errw)
	return code, out.String(), errw.String()
}

// noNode is a socket path nobody listens on.
func noNode(t testing.TB) string { return filepath.Join(t.TempDir(), "none.sock") }

const unreachable = "Failed to communicate with the Ouroboros IPC Resource Manager daemon.\n"

// TestDispatch checks which operation a word selects, by the usage the
// operation prints when its arguments are missing: prefix matching, the
// first keyword in the documented order wins.
func TestDispatch(t *testing.T) {
	tests := []struct {
		args []string
		want string // start of stderr
	}{
		{[]string{"ipcp", "c"}, "Usage: irm ipcp create\n"},
		{[]string{"ipcp", ""}, "Usage: irm ipcp create\n"},
		{[]string{"ipcp", "co"}, "Usage: irm ipcp connect\n"},
		{[]string{"ipcp", "d"}, "Usage: irm ipcp destroy\n"},
		{[]string{"ipcp", "di"}, "Usage: irm ipcp disconnect\n"},
		{[]string{"ipcp", "b"}, "Usage: irm ipcp bootstrap\n"},
		{[]string{"ipcp", "e"}, "Usage: irm ipcp enroll\n"},
		{[]string{"i", "create"}, "Usage: irm ipcp create\n"},
		{[]string{"", "c"}, "Usage: irm ipcp create\n"},
		{[]string{"n", "r"}, "Usage: irm name register <name>\n"},
		{[]string{"n", "re"}, "Usage: irm name register <name>\n"},
		{[]string{"n", "u"}, "Usage: irm name unregister <name>\n"},
		{[]string{"n", "c"}, "Usage: irm name create\n"},
		{[]string{"n", "d"}, "Usage: irm name destroy <name>\n"},
		{[]string{"b", "p"}, "Usage: irm bind program <program>\n"},
		{[]string{"b", "pro"}, "Usage: irm bind program <program>\n"},
		{[]string{"b", "proc"}, "Usage: irm bind process <pid> name <name>\n"},
		{[]string{"b", "i"}, "Usage: irm bind ipcp <name> name <name>\n"},
		{[]string{"u", "p"}, "Usage: irm unbind program <program>\n"},
		{[]string{"un", "proc"}, "Usage: irm unbind process <pid>\n"},
		{[]string{"unbind", "i"}, "Usage: irm unbind ipcp <name> name <name>\n"},
		{[]string{"ipcp"}, "Usage: irm ipcp [OPERATION]\n"},
		{[]string{"bind"}, "Usage: irm bind [OPERATION]\n"},
		{[]string{"unbind"}, "Usage: irm unbind [OPERATION]\n"},
		{[]string{"name"}, "Usage: irm name [OPERATION]\n"},
		{[]string{"flow"}, "Usage: irm flow [OPERATION]\n"},
		{nil, "Usage: irm [OPERATION]\n\nwhere OPERATION in { ipcp bind unbind name help flow }\n"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, "_"), func(t *testing.T) {
			code, out, errw := run(t, noNode(t), tt.args...)
			if code != 1 || out != "" || !strings.HasPrefix(errw, tt.want) {
				t.Errorf("irm %q = %d, stdout %q, stderr %q; want 1 and stderr starting %q", tt.args, code, out, errw, tt.want)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"help"}, "Usage: irm [OPERATION]\n"},
		{[]string{"h"}, "Usage: irm [OPERATION]\n"},
		{[]string{"ipcp", "help"}, ipcpUsage},
		{[]string{"ipcp", "h"}, ipcpUsage},
		{[]string{"bind", "help"}, bindUsage},
		{[]string{"unbind", "h"}, unbindUsage},
		{[]string{"name", "help"}, nameUsage},
		{[]string{"flow", "help"}, flowUsage},
	}
	for _, tt := range tests {
		code, out, errw := run(t, noNode(t), tt.args...)
		if code != 0 || !strings.HasPrefix(out, tt.want) || errw != "" {
			t.Errorf("irm %q = %d, stdout %q, stderr %q; want 0 and stdout %q", tt.args, code, out, errw, tt.want)
		}
	}
}

// TestBadArgs checks the failures found before the node is asked.
func TestBadArgs(t *testing.T) {
	tests := []struct {
		args []string
		want string // stderr starts with it
	}{
		{[]string{"x"}, `"x" is unknown, try "irm help".` + "\n"},
		{[]string{"ipcp", "x"}, `"x" is unknown, try "irm ipcp help".` + "\n"},
		{[]string{"bind", "x"}, `"x" is unknown, try "irm bind help".` + "\n"},
		{[]string{"unbind", "x"}, `"x" is unknown, try "irm unbind help".` + "\n"},
		{[]string{"name", "x"}, `"x" is unknown, try "irm name help".` + "\n"},
		{[]string{"flow", "x"}, `"x" is unknown, try "irm flow help".` + "\n"},
		{[]string{"flow", "list", "x"}, `"x" is unknown, try "irm flow list".` + "\n"},
		{[]string{"ipcp", "create", "name", "a", "colour", "red"}, `"colour" is unknown, try "irm ipcp create".`},
		{[]string{"ipcp", "create", "name", "a"}, "Usage: irm ipcp create\n"},
		{[]string{"ipcp", "create", "name", "a", "type"}, `"type" needs a value.` + "\nUsage: irm ipcp create\n"},
		{[]string{"ipcp", "create", "name", "a", "type", "u"}, `IPCP type "u" is unknown.` + "\nUsage: irm ipcp create\n"},
		{[]string{"ipcp", "destroy", "n"}, `"n" needs a value.`},
		{[]string{"ipcp", "destroy", "layer", "l"}, `"layer" is unknown, try "irm ipcp destroy".`},
		{[]string{"ipcp", "list", "layer", "l"}, `"layer" is unknown, try "irm ipcp list".`},
		{[]string{"ipcp", "list", "type", "loc"}, "Usage: irm ipcp list\n"},
		{[]string{"ipcp", "bootstrap", "name", "a"}, "Usage: irm ipcp bootstrap\n"},
		{[]string{"ipcp", "bootstrap", "layer", "l"}, "Usage: irm ipcp bootstrap\n"},
		{[]string{"ipcp", "bootstrap", "name", "a", "layer", "l", "foo", "1"}, `Unknown option: "foo".`},
		{[]string{"ipcp", "bootstrap", "name", "a", "layer", "l", "hash", "MD5"}, `Unknown parameter for hash: "MD5".`},
		{[]string{"ipcp", "bootstrap", "name", "a", "layer", "l", "routing", "link-state"}, `Unknown parameter for routing: "link-state".`},
		{[]string{"ipcp", "bootstrap", "name", "a", "layer", "l", "addr", "four"}, `Invalid value for addr: "four".`},
		{[]string{"ipcp", "bootstrap", "name", "a", "layer", "l", "ttl", "256"}, `Invalid value for ttl: "256".`},
		{[]string{"ipcp", "bootstrap", "name", "a", "layer", "l", "ethertype", "0x0500"}, "Invalid Ethertype: \"0x0500\".\nRecommended range: 0xA000-0xEFFF.\n"},
		{[]string{"ipcp", "bootstrap", "name", "a", "layer", "l", "type", "x"}, `IPCP type "x" is unknown.`},
		{[]string{"ipcp", "bootstrap", "name", "a", "layer", strings.Repeat("l", 256)}, "Layer name too long.\nUsage: irm ipcp bootstrap\n"},
		{[]string{"ipcp", "bootstrap", "name", "a", "layer", "l", "type", "udp4"}, `Invalid IPv4 address: "".`},
		{[]string{"ipcp", "bootstrap", "name", "a", "layer", "l", "type", "udp4", "ip", "0.0.0.0"}, `Cannot use IPv4 address: "0.0.0.0".`},
		{[]string{"ipcp", "bootstrap", "name", "a", "layer", "l", "type", "udp6", "ip", "10.0.0.1"}, `Invalid IPv6 address: "10.0.0.1".`},
		{[]string{"ipcp", "bootstrap", "name", "a", "layer", "l", "type", "udp4", "ip", "10.0.0.1", "dns", "::1"}, `Invalid DNS IPv4 address: "::1".`},
		{[]string{"ipcp", "bootstrap", "name", "a", "layer", "l", "type", "eth-dix"}, "An Ethernet IPCP needs dev <interface name>.\n"},
		{[]string{"ipcp", "enroll", "name", "a"}, "Usage: irm ipcp enroll\n"},
		{[]string{"ipcp", "enroll", "name", "a", "layer", "l", "type", "local"}, `IPCP type "local" cannot enroll.`},
		{[]string{"ipcp", "enroll", "name", "a", "layer", "l", "x"}, `"x" is unknown, try "irm ipcp enroll".`},
		{[]string{"ipcp", "connect", "name", "a"}, "Usage: irm ipcp connect\n"},
		{[]string{"ipcp", "disconnect", "name", "a", "dst", "b", "qos", "raw"}, `"qos" is unknown, try "irm ipcp disconnect".`},
		{[]string{"bind", "program", "/bin/sh"}, "Usage: irm bind program <program>\n"},
		{[]string{"bind", "program", "/nonexistent/prog", "name", "x"}, "/nonexistent/prog does not exist.\n"},
		{[]string{"bind", "program", "no-such-program-o7s", "name", "x"}, "no-such-program-o7s does not exist.\n"},
		{[]string{"bind", "program", "/bin/sh", "name", "x", "automatic"}, `"automatic" is unknown, try "irm bind program".`},
		{[]string{"bind", "process", "1x", "name", "x"}, `"1x" is not a valid process id.`},
		{[]string{"bind", "process", "0", "name", "x"}, `"0" is not a valid process id.`},
		{[]string{"bind", "process", "2147483600", "name", "x"}, `"2147483600" is not a valid process id.`},
		{[]string{"bind", "process", "1"}, "Usage: irm bind process <pid> name <name>\n"},
		{[]string{"unbind", "ipcp", "lo"}, "Usage: irm unbind ipcp <name> name <name>\n"},
		{[]string{"unbind", "process", "-1"}, `"-1" is not a valid process id.`},
		{[]string{"unbind", "program", "x", "name"}, `"name" needs a value.` + "\nUsage: irm unbind program <program>\n"},
		{[]string{"name", "create", "x", "lb", "random"}, "Usage: irm name create\n"},
		{[]string{"name", "create", strings.Repeat("n", 256)}, "Name too long.\n"},
		{[]string{"name", "create", "x", "sencpath", "/nonexistent/enc.conf"}, "Failed to check path /nonexistent/enc.conf:"},
		{[]string{"name", "destroy", "x", "y"}, `"y" is unknown, try "irm name destroy".`},
		{[]string{"name", "register", "x"}, "Usage: irm name register <name>\n"},
		{[]string{"name", "register", "x", "dif", "d"}, `"dif" is unknown, try "irm name register".`},
		{[]string{"name", "unregister", "x", "dif", "d"}, `"dif" is unknown, try "irm name unregister".`},
		{[]string{"name", "list", "filter", "x"}, `"filter" is unknown, try "irm name list".`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, "_"), func(t *testing.T) {
			code, out, errw := run(t, noNode(t), tt.args...)
			if code != 1 || out != "" || !strings.HasPrefix(errw, tt.want) {
				t.Errorf("irm %q = %d, stdout %q, stderr %q; want 1 and stderr starting %q", tt.args, code, out, errw, tt.want)
			}
		})
	}
}

func TestTooManyRegArgs(t *testing.T) {
	args := []string{"name", "register", "x"}
	for range maxRegArgs + 1 {
		args = append(args, "layer", "l")
	}
	if code, _, errw := run(t, noNode(t), args...); code != 1 || errw != "Too many layers specified.\n" {
		t.Errorf("129 layers = %d, %q; want 1, Too many layers specified.", code, errw)
	}
}

func TestUnreachable(t *testing.T) {
	sock := noNode(t)
	for _, args := range [][]string{{"ipcp", "list"}, {"name", "list"}, {"flow", "list"}, {"n", "c", "x"}} {
		code, out, errw := run(t, sock, args...)
		first, detail, _ := strings.Cut(errw, "\n")
		if code != 1 || out != "" || first+"\n" != unreachable || !strings.Contains(detail, sock) ||
			!strings.Contains(detail, "OUROBOROS_SOCK") {
			t.Errorf("irm %q without a node = %d, stdout %q, stderr %q", args, code, out, errw)
		}
	}
}

func TestSockOption(t *testing.T) {
	sock := noNode(t)
	var out, errw bytes.Buffer
	if code := Main([]string{"--sock=" + sock, "ipcp", "list"}, &out, &errw); code != 1 || !strings.Contains(errw.String(), sock) {
		t.Errorf("--sock=PATH: %d, %q", code, errw.String())
	}
	errw.Reset()
	if code := Main([]string{"--sock"}, &out, &errw); code != 1 || !strings.HasPrefix(errw.String(), "--sock needs a socket path.\nUsage: irm") {
		t.Errorf("--sock without a path: %d, %q", code, errw.String())
	}
	t.Setenv("OUROBOROS_SOCK", sock)
	errw.Reset()
	if code := Main([]string{"ipcp", "list"}, &out, &errw); code != 1 || !strings.Contains(errw.String(), sock) {
		t.Errorf("OUROBOROS_SOCK: %d, %q", code, errw.String())
	}
}

// TestBootstrapKeywords checks the keyword order of bootstrap: each
// abbreviation selects the first keyword it abbreviates.
func TestBootstrapKeywords(t *testing.T) {
	b, err := parseBootstrap([]string{
		"n", "lo", "l", "L", "t", "local", "h", "SHA3_512", "i", "10.0.0.1", "d", "10.0.0.2", "dev", "eth0",
		"e", "0xA001", "a", "4", "addr_a", "flat", "ei", "8", "tt", "9", "p", "1234", "au",
		"di", "DHT", "dht", "5", "dht_k", "6", "dht_t_e", "7", "dht_t_ref", "8", "dht_t_rep", "9",
		"r", "ecmp", "ls", "10", "ls_t_u", "11", "ls_t_r", "12", "c", "none",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := bootArgs{name: "lo", layer: "L", typ: "local", hash: ipcp.SHA3_512, autobind: true, typed: typeConf{
		ip: "10.0.0.1", dns: "10.0.0.2", dev: "eth0", port: 1234, ethertype: 0xA001, addr: 4, eid: 8, ttl: 9,
		directory: 0, routing: 2, congest: 0, dhtAlpha: 5, dhtK: 6, dhtExpire: 7, dhtRefresh: 8, dhtReplicate: 9,
		lsTimeo: 10, lsUpdate: 11, lsRecalc: 12,
	}}
	if !reflect.DeepEqual(*b, want) {
		t.Errorf("parseBootstrap =\n%+v\nwant\n%+v", *b, want)
	}
}

func TestBootstrapDefaults(t *testing.T) {
	b, err := parseBootstrap([]string{"name", "lo", "layer", "L", "ethertype", "a000"})
	if err != nil {
		t.Fatal(err)
	}
	if b.hash != ipcp.SHA3_256 || b.typ != "" || b.autobind || b.typed.ethertype != 0xA000 || b.typed.port != 3435 ||
		b.typed.congest != 1 || b.typed.ttl != 60 {
		t.Errorf("defaults: %+v", *b)
	}
}

func TestBootType(t *testing.T) {
	tests := []struct {
		in   string
		want ipcp.Type
		ok   bool
	}{
		{"", ipcp.Unicast, true},
		{"u", ipcp.Unicast, true},
		{"b", ipcp.Broadcast, true},
		{"udp", ipcp.UDP4, true},
		{"udp6", ipcp.UDP6, true},
		{"eth", ipcp.EthDIX, true},
		{"eth-l", ipcp.EthLLC, true},
		{"lo", ipcp.Local, true},
		{"local", ipcp.Local, true},
		{"locals", 0, false},
		{"x", 0, false},
	}
	for _, tt := range tests {
		if got, ok := bootType(tt.in); got != tt.want || ok != tt.ok {
			t.Errorf("bootType(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestWildcard(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"", "", true},
		{"", "a", false},
		{"a", "a", true},
		{"a", "ab", false},
		{"*", "", true},
		{"*", "anything", true},
		{"a*", "a", true},
		{"a*", "abc", true},
		{"*c", "abc", true},
		{"*c", "c", true},
		{"*c", "", false},
		{"a*c", "ac", true},
		{"a*c", "abbbc", true},
		{"a*c", "abcd", false},
		{"*b*", "abc", true},
		{"**", "", false}, // the reference's quirk
		{"?", "a", false}, // no '?' wildcard
		{"local", "local", true},
		{"lo*", "local", true},
		{"local", "lo*", false},
	}
	for _, tt := range tests {
		if got := wildcard(tt.pattern, tt.s); got != tt.want {
			t.Errorf("wildcard(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}

// FuzzMain checks that no command line makes irm panic, and that it
// always exits 0 or 1.
func FuzzMain(f *testing.F) {
	for _, s := range []string{"ipcp bootstrap name a layer l type udp4 ip", "n r x l", "b p /bin/sh n x -- a", "", "--sock"} {
		f.Add(s)
	}
	sock := filepath.Join(f.TempDir(), "none.sock")
	f.Fuzz(func(t *testing.T, line string) {
		args := strings.Split(line, " ")
		var out, errw bytes.Buffer
		if code := Main(append([]string{"--sock", sock}, args...), &out, &errw); code != 0 && code != 1 {
			t.Fatalf("irm %q = %d", args, code)
		}
	})
}

func TestBootstrapStatic(t *testing.T) {
	b, err := parseBootstrap([]string{"name", "u", "layer", "L", "type", "udp4", "ip", "198.18.0.1",
		"static", "srv=198.18.0.2", "static", "other=198.18.0.3"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"srv": "198.18.0.2", "other": "198.18.0.3"}
	if !reflect.DeepEqual(b.typed.static, want) {
		t.Errorf("static = %v, want %v", b.typed.static, want)
	}
	for _, bad := range []string{"srv", "=1.2.3.4", "srv=not-an-ip"} {
		if _, err := parseBootstrap([]string{"name", "u", "layer", "L", "static", bad}); err == nil {
			t.Errorf("static %q accepted", bad)
		}
	}
}

// TestTopOptions: -h and --help print the top usage, --version the
// version, with no node needed.
func TestTopOptions(t *testing.T) {
	for _, tc := range []struct {
		arg, want string
	}{{"-h", topUsage}, {"--help", topUsage}, {"--version", version.Line("irm")}} {
		code, out, errw := run(t, noNode(t), tc.arg)
		if code != 0 || out != tc.want || errw != "" {
			t.Errorf("irm %s = %d, %q, %q; want 0 and %q", tc.arg, code, out, errw, tc.want)
		}
	}
}
