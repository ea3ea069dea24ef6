package ipcp

import "testing"

func TestPolicySpellings(t *testing.T) {
	for _, tc := range []struct {
		s    string
		sp   Spelling
		want Routing
		ok   bool
	}{
		{"link-state", Ours, RoutingLinkState, true},
		{"link_state", Ours, 0, false},
		{"link_state", RefCLI, RoutingLinkState, true},
		{"link-state", RefCLI, 0, false},
		{"link-state", RefConfig, RoutingLinkState, true},
		{"link_state", RefConfig, RoutingLinkState, true},
		{"lfa", Ours, RoutingLFA, true},
		{"ecmp", RefCLI, RoutingECMP, true},
		{"ECMP", Ours, 0, false},
	} {
		got, err := ParseRouting(tc.s, tc.sp)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseRouting(%q, %d) = %v, %v; want %v, ok %v", tc.s, tc.sp, got, err, tc.want, tc.ok)
		}
	}
	if d, err := ParseDirectory("DHT", RefCLI); err != nil || d != DirDHT || d.String() != "dht" {
		t.Errorf("ParseDirectory(DHT, RefCLI) = %v, %v", d, err)
	}
	if _, err := ParseDirectory("DHT", Ours); err == nil {
		t.Error("ParseDirectory(DHT, Ours) took the reference's spelling")
	}
	if c, err := ParseCongestion("lfa", RefConfig); err != nil || c != CongMBECN {
		t.Errorf("ParseCongestion(lfa, RefConfig) = %v, %v; want mb-ecn", c, err)
	}
	if _, err := ParseCongestion("lfa", RefCLI); err == nil {
		t.Error("ParseCongestion(lfa, RefCLI) took the configuration file's spelling")
	}
	if a, err := ParseAddrAuth("flat", Ours); err != nil || a != AddrAuthFlat {
		t.Errorf("ParseAddrAuth(flat) = %v, %v", a, err)
	}
	_, err := ParseRouting("bogus", RefCLI)
	if err == nil || err.Error() != `unknown routing policy "bogus", want link_state or lfa or ecmp` {
		t.Errorf("ParseRouting(bogus, RefCLI) error = %v, want one listing the reference's names", err)
	}
	for _, tc := range []struct {
		s    string
		want string
	}{{Routing(7).String(), "policy(7)"}, {CongNone.String(), "none"}, {RoutingECMP.String(), "ecmp"}} {
		if tc.s != tc.want {
			t.Errorf("String = %q, want %q", tc.s, tc.want)
		}
	}
}
