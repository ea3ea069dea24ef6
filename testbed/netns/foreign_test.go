package netns

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/o7s/ouroboros/testbed/topo"
)

// A node of the reference in a unicast layer over eth-dix, and in a udp4
// layer: its steps become the reference's irm commands.
const mixed = `name: mixed
nodes:
  a: {}
  r: {impl: reference, image: "ref/irmd:1", names: {oping: [udp]}}
links:
  - {endpoints: [a:e1, r:e1]}
  - {type: udp, endpoints: [a:u0, r:u0]}
layers:
  dix: {type: eth-dix, link: "a:e1--r:e1"}
  udp: {type: udp4, link: "a:u0--r:u0"}
  net: {type: unicast, members: [a, r], lower: {a: [dix], r: [dix]}, policies: {dt_qos: raw-voice}}
`

func TestForeignCommands(t *testing.T) {
	tp, err := topo.Parse("mixed.yaml", []byte(mixed))
	if err != nil {
		t.Fatal(err)
	}
	r := tp.Node("r")
	var got []string
	for _, s := range Steps(tp) {
		if s.Node != "r" {
			continue
		}
		cmds, err := ForeignCommands(r.Profile, s)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		for _, argv := range cmds {
			got = append(got, strings.Join(argv, " "))
		}
	}
	want := []string{
		"irm ipcp create name dix.r type eth-dix",
		"irm ipcp bootstrap name dix.r layer dix type eth-dix dev e1 ethertype 0xa000 hash SHA3_256",
		"irm ipcp create name udp.r type udp4",
		"irm ipcp bootstrap name udp.r layer udp type udp4 ip 198.18.0.2 port 3435",
		"irm ipcp create name net.r type unicast",
		"irm name create net.r",
		"irm bind ipcp net.r name net.r",
		"irm name create net",
		"irm bind ipcp net.r name net",
		"irm name register net.r ipcp dix.r",
		"irm name register net ipcp dix.r",
		"irm name create net.a",
		"irm ipcp enroll name net.r layer net dst net.a type unicast",
		"irm name create net.a",
		"irm ipcp connect name net.r dst net.a component mgmt qos raw",
		"irm name create net.a",
		"irm ipcp connect name net.r dst net.a component dt qos raw-voice",
		"irm name create oping",
		"irm name register oping ipcp udp.r",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("commands (-want +got):\n%s", d)
	}
}

// A unicast layer bootstrapped by the reference gets every policy spelled
// as its irm takes them.
func TestForeignBootstrapUnicast(t *testing.T) {
	src := strings.Replace(mixed, "members: [a, r], lower: {a: [dix], r: [dix]}, policies: {dt_qos: raw-voice}",
		"members: [r, a], lower: {a: [dix], r: [dix]}, policies: {routing: ecmp, ca: none, ls_t_update: 5}", 1)
	tp, err := topo.Parse("mixed.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range Steps(tp) {
		if s.Node != "r" || s.Op != OpBootstrap || s.Layer != "net" {
			continue
		}
		cmds, err := ForeignCommands(tp.Node("r").Profile, s)
		if err != nil {
			t.Fatal(err)
		}
		argv := cmds[0]
		want := "irm ipcp bootstrap name net.r layer net type unicast hash SHA3_256 addr 4 eid 8 ttl 60 addr_auth flat directory DHT" +
			" dht_alpha 3 dht_k 8 dht_t_expire 86400 dht_t_refresh 900 dht_t_replicate 900 routing ecmp" +
			" ls_t_timeo 60 ls_t_update 5 ls_t_recalc 4 congestion none"
		if got := strings.Join(argv, " "); got != want {
			t.Errorf("bootstrap\n got %s\nwant %s", got, want)
		}
		return
	}
	t.Fatal("no bootstrap of net on r")
}

// The reference's UDP IPCP finds a's names through /etc/hosts: the MD5
// of each name, to a's address.
func TestForeignHosts(t *testing.T) {
	src := strings.Replace(mixed, "  a: {}", "  a: {names: {echo: [udp]}}", 1)
	tp, err := topo.Parse("mixed.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	got := hostsLines(tp.Node("r").Profile, Steps(tp), "r")
	if len(got) != 1 || !strings.HasPrefix(got[0], "198.18.0.1 ") || len(strings.Fields(got[0])[1]) != 32 {
		t.Fatalf("hosts lines %q; want one line for echo at 198.18.0.1", got)
	}
	if got[0] != "198.18.0.1 cbb11ed87dc8a95d81400c7f33c7c171" { // MD5("echo")
		t.Errorf("hosts line %q", got[0])
	}
}
