package topo_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/o7s/ouroboros/testbed/topo"
)

// The topology files of the tunnels load, with what otb makes of them.
func TestIPLanFiles(t *testing.T) {
	tp, err := topo.Load("../../topologies/iplan.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(tp.Tunnels) != 1 {
		t.Fatalf("tunnels = %d, want 1", len(tp.Tunnels))
	}
	tn := tp.Tunnels[0]
	pfx := netip.MustParsePrefix
	want := &topo.Tunnel{
		Name: "vpn", Mode: topo.TunnelTun, Layer: "net", QoS: "raw", Line: tn.Line,
		Server: topo.TunnelEnd{Node: "g1", LAN: "lan1", Iface: "e1", Dev: "ov-vpn",
			Addrs:  []netip.Prefix{pfx("100.64.0.1/30"), pfx("fd07:7e58::1/64")},
			Routes: []netip.Prefix{pfx("10.2.0.0/24"), pfx("fd02::/64")}},
		Client: topo.TunnelEnd{Node: "g2", LAN: "lan2", Iface: "e1", Dev: "ov-vpn",
			Addrs:  []netip.Prefix{pfx("100.64.0.2/30"), pfx("fd07:7e58::2/64")},
			Routes: []netip.Prefix{pfx("10.1.0.0/24"), pfx("fd01::/64")}},
	}
	if diff := cmp.Diff(want, tn, cmpopts.EquateComparable(netip.Prefix{})); diff != "" {
		t.Errorf("tunnel (-want +got):\n%s", diff)
	}
	nodes := map[string]*topo.Node{}
	for _, n := range tp.Nodes {
		nodes[n.Name] = n
	}
	// The hosts route the far LAN through their gateway; the server
	// registers the tunnel's name.
	wantRoutes := map[string][]string{
		"h1": {"10.2.0.0/24 via 10.1.0.1", "fd02::/64 via fd01::1"},
		"h2": {"10.2.0.0/24 via 10.1.0.1", "fd02::/64 via fd01::1"},
		"h3": {"10.1.0.0/24 via 10.2.0.1", "fd01::/64 via fd02::1"},
		"h4": {"10.1.0.0/24 via 10.2.0.1", "fd01::/64 via fd02::1"},
	}
	for h, want := range wantRoutes {
		var got []string
		for _, r := range nodes[h].Routes {
			got = append(got, r.String())
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("routes of %s (-want +got):\n%s", h, diff)
		}
	}
	if got := nodes["g1"].Names["vpn"]; !cmp.Equal(got, []string{"net"}) {
		t.Errorf("g1 registers vpn in %v, want [net]", got)
	}
	if got := nodes["h1"].Addrs["d0"]; !cmp.Equal(got, []netip.Prefix{pfx("192.168.99.1/30")}, cmpopts.EquateComparable(netip.Prefix{})) {
		t.Errorf("h1:d0 = %v", got)
	}

	tp, err = topo.Load("../../topologies/iplan-tap.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tn = tp.Tunnels[0]
	if tn.Mode != topo.TunnelTap || tn.Server.Bridge != "ovb-br" || tn.Client.Dev != "ov-br" || len(tn.Server.Addrs) != 0 || len(tn.Server.Routes) != 0 {
		t.Errorf("tap tunnel = %+v", tn)
	}
	for _, n := range tp.Nodes {
		if len(n.Routes) > 0 {
			t.Errorf("%s has routes %v in a tap lab", n.Name, n.Routes)
		}
	}
}

// A written route wins over the one a tunnel implies; routes read as
// ip route writes them.
func TestIPLanRoutes(t *testing.T) {
	tp, err := topo.Parse("t.yaml", []byte(lanFile(`
  h1: {kind: host, ip: {e1: [10.1.0.11/24]}, routes: ["10.2.0.0/24 via 10.1.0.99", "default via 10.1.0.1"]}`, "")))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, n := range tp.Nodes {
		if n.Name == "h1" {
			for _, r := range n.Routes {
				got = append(got, r.String())
			}
		}
	}
	if want := []string{"10.2.0.0/24 via 10.1.0.99", "0.0.0.0/0 via 10.1.0.1"}; !cmp.Equal(want, got) {
		t.Errorf("routes = %v, want %v", got, want)
	}
}

// lanFile is a valid two-LAN file with h1 as written (one line of nodes:,
// indented) and the tunnel's body as written (or a valid one).
func lanFile(h1, tunnel string) string {
	if tunnel == "" {
		tunnel = "{layer: net, server: {node: g1, lan: lan1}, client: {node: g2, lan: lan2}}"
	}
	return `name: t
nodes:
  g1: {ip: {e1: [10.1.0.1/24]}}
  g2: {ip: {e1: [10.2.0.1/24]}}` + h1 + `
  h3: {kind: host, ip: {e1: [10.2.0.13/24]}}
  lan1: {kind: bridge}
  lan2: {kind: bridge}
links:
  - {type: bridge, bridge: lan1, endpoints: [g1:e1, h1:e1]}
  - {type: bridge, bridge: lan2, endpoints: [g2:e1, h3:e1]}
  - endpoints: [g1:e2, g2:e2]
layers:
  net: {type: unicast, members: [g1, g2], lower: {g1: [dix-g1-g2], g2: [dix-g1-g2]}}
tunnels:
  vpn: ` + tunnel + "\n"
}

func TestIPLanProblems(t *testing.T) {
	const okHost = "\n  h1: {kind: host, ip: {e1: [10.1.0.11/24]}}"
	for _, tc := range []struct {
		name, h1, tunnel string
		want             string
	}{
		{"host without address", "\n  h1: {kind: host}", "",
			`t.yaml:5:3: host h1 on LAN lan1, which tunnel vpn joins, has no address, and a host is reached only by IP; add ip: {e1: [10.1.0.11/24]}`},
		{"address on no interface", "\n  h1: {kind: host, ip: {e9: [10.1.0.11/24]}}", "",
			`t.yaml:5:25: node h1 has no interface e9 (its interfaces: e1); give addresses to an interface a link connects`},
		{"bad address", "\n  h1: {kind: host, ip: {e1: [10.1.0.300/24]}}", "",
			`t.yaml:5:30: "10.1.0.300/24" is not an address with its prefix length; write e.g. 10.1.0.11/24 or "fd01::11/64"`},
		{"subnet for address", "\n  h1: {kind: host, ip: {e1: [10.1.0.0/24]}}", "",
			`t.yaml:5:30: 10.1.0.0/24 is the subnet itself, not an address on it; write an address such as 10.1.0.1/24`},
		{"bad route", "\n  h1: {kind: host, ip: {e1: [10.1.0.11/24]}, routes: [10.2.0.0/24]}", "",
			`t.yaml:5:55: route "10.2.0.0/24" is not PREFIX via ADDRESS; write e.g. "10.2.0.0/24 via 10.1.0.1" or "default via 10.1.0.1"`},
		{"route off subnet", "\n  h1: {kind: host, ip: {e1: [10.1.0.11/24]}, routes: [\"10.2.0.0/24 via 10.3.0.1\"]}", "",
			`t.yaml:5:55: route "10.2.0.0/24 via 10.3.0.1" goes through 10.3.0.1, which is on none of h1's subnets (10.1.0.0/24); route through a neighbour on one of them`},
		{"route mixing families", "\n  h1: {kind: host, ip: {e1: [10.1.0.11/24]}, routes: [\"fd02::/64 via 10.1.0.1\"]}", "",
			`t.yaml:5:55: route "fd02::/64 via 10.1.0.1" mixes IPv4 and IPv6; route a prefix through a neighbour of its own family`},
		{"unknown LAN", okHost, "{layer: net, server: {node: g1, lan: lan9}, client: {node: g2, lan: lan2}}",
			`t.yaml:16:45: tunnel vpn: there is no node lan9; name a bridge node (LANs: lan1, lan2)`},
		{"LAN that is a node", okHost, "{layer: net, server: {node: g1, lan: g2}, client: {node: g2, lan: lan2}}",
			`t.yaml:16:45: tunnel vpn: g2 is a node, not a LAN; name a bridge node (LANs: lan1, lan2)`},
		{"gateway not on the LAN", okHost, "{layer: net, server: {node: g1, lan: lan2}, client: {node: g2, lan: lan1}}",
			`t.yaml:16:45: tunnel vpn: gateway g1 is not on LAN lan2; add g1:e<n> to the endpoints of lan2's bridge link
t.yaml:16:76: tunnel vpn: gateway g2 is not on LAN lan1; add g2:e<n> to the endpoints of lan1's bridge link`},
		{"end that is a host", okHost, "{layer: net, server: {node: h1, lan: lan1}, client: {node: g2, lan: lan2}}",
			`t.yaml:16:36: tunnel vpn: h1 is a host, and a gateway runs ovpn over its onode; name a node of kind node`},
		{"end that is no node", okHost, "{layer: net, server: {node: g1, lan: lan1}, client: {node: g3, lan: lan2}}",
			`t.yaml:16:67: tunnel vpn: there is no node g3; did you mean g1?`},
		{"unknown layer", okHost, "{layer: nett, server: {node: g1, lan: lan1}, client: {node: g2, lan: lan2}}",
			`t.yaml:16:16: tunnel vpn: there is no layer nett; name a layer both gateways are members of`},
		{"no client", okHost, "{layer: net, server: {node: g1, lan: lan1}}",
			`t.yaml:16:3: tunnel vpn has no client; add client: {node: g2, lan: lan2}`},
		{"unknown mode", okHost, "{mode: tan, layer: net, server: {node: g1, lan: lan1}, client: {node: g2, lan: lan2}}",
			`t.yaml:16:15: unknown mode "tan" for tunnel vpn; write mode: tun (IP, the LANs routed) or tap (Ethernet, the LANs one segment)`},
		{"unknown key", okHost, "{layer: net, sever: {node: g1, lan: lan1}, client: {node: g2, lan: lan2}}",
			`t.yaml:16:21: unknown key "sever" in tunnel "vpn"; did you mean "server"?`},
		{"one gateway twice", okHost, "{layer: net, server: {node: g1, lan: lan1}, client: {node: g1, lan: lan1}}",
			`t.yaml:16:67: tunnel vpn has g1 at both ends; a tunnel joins two gateways`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := problems(t, lanFile(tc.h1, tc.tunnel))
			if strings.Join(got, "\n") != tc.want {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), tc.want)
			}
		})
	}
}

// Tun tunnels route between subnets: both gateways need an address on
// their LAN, and the LANs distinct subnets.
func TestIPLanTunNeedsSubnets(t *testing.T) {
	f := strings.Replace(lanFile("\n  h1: {kind: host, ip: {e1: [10.2.0.11/24]}}", ""), "g1: {ip: {e1: [10.1.0.1/24]}}", "g1: {ip: {e1: [10.2.0.1/24]}}", 1)
	got := problems(t, f)
	if want := `t.yaml:16:76: tunnel vpn (tun) routes between the LANs, and 10.2.0.0/24 on lan2 overlaps 10.2.0.0/24 on lan1; give the LANs different subnets, or write mode: tap`; len(got) != 1 || got[0] != want {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), want)
	}
	f = strings.Replace(lanFile("\n  h1: {kind: host, ip: {e1: [10.1.0.11/24]}}", ""), "g1: {ip: {e1: [10.1.0.1/24]}}", "g1: {}", 1)
	got = problems(t, f)
	if want := `t.yaml:16:36: tunnel vpn (tun) routes between subnets, and gateway g1 has no address on lan1; add ip: {e1: [10.1.0.1/24]} to g1 (or write mode: tap)`; len(got) != 1 || got[0] != want {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), want)
	}
	// The same gateways in tap mode need neither.
	f = strings.Replace(f, "{layer: net,", "{mode: tap, layer: net,", 1)
	if _, err := topo.Parse("t.yaml", []byte(f)); err != nil {
		t.Errorf("tap: %v", err)
	}
}
