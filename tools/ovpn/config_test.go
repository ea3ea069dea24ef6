package ovpn

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/o7s/ouroboros/stack/qos"
	"github.com/o7s/ouroboros/tools/internal/tool"
)

func TestParse(t *testing.T) {
	defer func(f func() int) { geteuid = f }(geteuid)
	geteuid = func() int { return 0 }
	cfg, err := Parse(strings.Fields("-i 10.0.0.1 -m 255.255.255.0 -n srv --ip6 fd00::1/64 --route 192.168.5.7/24 --route fd01::/48 -q data"), nil)
	data, _ := qos.ByName("data")
	data.Timeout = DefaultPeerTimeout
	raw := qos.Raw
	raw.Timeout = DefaultPeerTimeout
	if err != nil || cfg.Name != "srv" || cfg.IP4 != netip.MustParsePrefix("10.0.0.1/24") || cfg.IP6 != netip.MustParsePrefix("fd00::1/64") ||
		!slices.Equal(cfg.Routes, []netip.Prefix{netip.MustParsePrefix("192.168.5.0/24"), netip.MustParsePrefix("fd01::/48")}) || cfg.QoS != data {
		t.Errorf("Parse = %+v, %v", cfg, err)
	}
	cfg, err = Parse(strings.Fields("--tap --bridge br0"), nil)
	if err != nil || !cfg.TAP || cfg.Bridge != "br0" || cfg.IP4.IsValid() || cfg.QoS != raw {
		t.Errorf("Parse tap = %+v, %v", cfg, err)
	}
	cfg, err = Parse(strings.Fields("--tap --bridge br0 --peer-timeout 3s -q voice"), nil)
	if err != nil || cfg.QoS.Timeout != 3000 || cfg.QoS.InOrder != 1 {
		t.Errorf("Parse --peer-timeout 3s -q voice = %+v, %v", cfg.QoS, err)
	}
	if _, err := Parse(strings.Fields("--tap --bridge br0 --peer-timeout fast"), nil); err == nil {
		t.Error("--peer-timeout fast was taken")
	}

	for _, tc := range []struct {
		args   string
		msg    string
		usage  bool
		status int
	}{
		{"-i 10.0.0.300 -m 255.0.0.0", "Invalid IP address: 10.0.0.300.\n", true, 1},
		{"-i 10.0.0.1 -m 255.0.255.0", "Invalid subnet mask: 255.0.255.0.\n", true, 1},
		{"-m 255.0.0.0", "Please specify an IP address.\n", true, 1},
		{"-i 10.0.0.1", "Please specify a subnetmask.\n", true, 1},
		{"-i 10.0.0.1 -m 255.0.0.0 foo bar", "Unknown arguments specified: foo bar \n", true, 1},
		{"-C", "", false, 1},
		{"--ip6 fd00::1", "Invalid IPv6 address: fd00::1 (give ADDR/PREFIX).\n", true, 1},
		{"--ip6 fd00::1/64 --bridge br0", "--bridge needs --tap.\n", true, 1},
		{"--ip6 fd00::1/64 -q gold", "Unknown QoS: gold.\n", true, 1},
	} {
		_, err := Parse(strings.Fields(tc.args), nil)
		ue, ok := err.(*tool.UsageError)
		if !ok || ue.Msg != tc.msg || ue.Usage != tc.usage || ue.Status != tc.status {
			t.Errorf("%q: %#v; want %q, usage %v, status %d", tc.args, err, tc.msg, tc.usage, tc.status)
		}
	}
	if _, err := Parse([]string{"--bogus"}, nil); err == nil || err.Error() != "unrecognized option '--bogus'" {
		t.Errorf("--bogus: %v", err)
	}
	if _, err := Parse([]string{"-i", "10.0.0.1", "--help"}, nil); err != tool.ErrHelp {
		t.Errorf("--help: %v", err)
	}
	geteuid = func() int { return 1000 }
	if _, err := Parse([]string{"-i", "10.0.0.1"}, nil); err == nil || err.(*tool.UsageError).Msg != "ovpn must be run as root." {
		t.Errorf("not root: %v", err)
	}
	if _, err := Parse([]string{"--help"}, nil); err != tool.ErrHelp {
		t.Errorf("--help, not root: %v", err)
	}
}

func TestMaskBits(t *testing.T) {
	for s, want := range map[string]int{"0.0.0.0": 0, "255.0.0.0": 8, "255.255.255.254": 31, "255.255.255.255": 32, "255.255.128.0": 17} {
		if n, ok := maskBits(s); !ok || n != want {
			t.Errorf("maskBits(%s) = %d, %v", s, n, ok)
		}
	}
	for _, s := range []string{"0.255.0.0", "255.255.255.253", "x", "::"} {
		if _, ok := maskBits(s); ok {
			t.Errorf("maskBits(%s) ok", s)
		}
	}
}
