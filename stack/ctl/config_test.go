package ctl

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/o7s/ouroboros/stack/errs"
	"github.com/o7s/ouroboros/stack/ipcp"
)

// TestConfigRoundTrip: what a client sends is what the node gets.
func TestConfigRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		typ  ipcp.Type
		conf ipcp.Config
	}{
		{ipcp.Local, ipcp.Config{Layer: "lo", Hash: ipcp.SHA3_256}},
		{ipcp.EthDIX, ipcp.Config{Layer: "eth", Hash: ipcp.SHA3_256, Eth: &ipcp.EthConfig{Dev: "e1", Ethertype: 0xA001}}},
		{ipcp.UDP6, ipcp.Config{Layer: "udp", Hash: ipcp.MD5, UDP: &ipcp.UDPConfig{Addr: netip.MustParseAddr("fd07:7e57::1"), Port: 3435,
			DNS: netip.MustParseAddr("fd07:7e57::53"), Static: map[string]netip.Addr{"srv": netip.MustParseAddr("fd07:7e57::2")}}}},
		{ipcp.Unicast, ipcp.Config{Layer: "net", Hash: ipcp.SHA3_512, Unicast: &ipcp.UnicastConfig{AddrSize: 4, EIDSize: 8, MaxTTL: 99,
			Routing: ipcp.RoutingECMP, TRecalc: 4 * time.Second, TUpdate: 15 * time.Second, TTimeo: 60 * time.Second,
			DHTAlpha: 3, DHTK: 8, TExpire: 86400 * time.Second, TRefresh: 900 * time.Second, TReplicate: 900 * time.Second, Cong: ipcp.CongNone}}},
	} {
		m := ConfigToMsg(tc.typ, tc.conf)
		if m.GetType() != uint32(tc.typ) || (tc.typ == ipcp.Local) != (m.GetLocal() != nil) {
			t.Errorf("%v: message type %d, local part %v", tc.typ, m.GetType(), m.GetLocal())
		}
		got, err := ConfigFromMsg(m)
		if err != nil {
			t.Fatalf("%v: ConfigFromMsg: %v", tc.typ, err)
		}
		if diff := cmp.Diff(tc.conf, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
			t.Errorf("%v: round trip (-sent +got):\n%s", tc.typ, diff)
		}
	}
}

func TestConfigFromMsgChecks(t *testing.T) {
	for name, m := range map[string]*IPCPConfig{
		"ethertype": {Eth: &EthConfig{Dev: "e1", Ethertype: 0x10000}},
		"ttl":       {Unicast: &UnicastConfig{MaxTtl: 256}},
		"port":      {Udp: &UDPConfig{Addr: "198.18.0.1", Port: 70000}},
		"ip":        {Udp: &UDPConfig{Addr: "nowhere"}},
		"dns":       {Udp: &UDPConfig{Addr: "198.18.0.1", Dns: "x"}},
		"static":    {Udp: &UDPConfig{Addr: "198.18.0.1", Static: map[string]string{"srv": "x"}}},
	} {
		if _, err := ConfigFromMsg(m); !errors.Is(err, errs.ErrInvalid) {
			t.Errorf("%s: ConfigFromMsg = %v, want ErrInvalid", name, err)
		}
	}
	// A unicast part that does not say its congestion policy gets MB-ECN.
	c, err := ConfigFromMsg(&IPCPConfig{Unicast: &UnicastConfig{Congestion: 0}})
	if err != nil || c.Unicast.Cong != ipcp.CongMBECN {
		t.Errorf("unset congestion = %v, %v; want mb-ecn", c.Unicast, err)
	}
}
