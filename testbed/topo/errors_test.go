package topo_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/o7s/ouroboros/testbed/topo"
)

// problems parses data as t.yaml and returns its problems as strings; the
// file must not be valid.
func problems(t *testing.T, data string) []string {
	t.Helper()
	tp, err := topo.Parse("t.yaml", []byte(data))
	if err == nil {
		t.Fatalf("Parse succeeded (%d nodes), want problems", len(tp.Nodes))
	}
	var list topo.ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("err is %T, want topo.ErrorList: %v", err, err)
	}
	if got := err.Error(); got != strings.Join(lines(list), "\n") {
		t.Errorf("Error() = %q, want the problems one per line", got)
	}
	var first *topo.Error
	if !errors.As(err, &first) || first != list[0] {
		t.Errorf("errors.As(*topo.Error) = %v, want the first problem", first)
	}
	return lines(list)
}

func lines(l topo.ErrorList) []string {
	s := make([]string, len(l))
	for i, e := range l {
		s[i] = e.Error()
	}
	return s
}

// TestBroken: a file with many problems reports every one, in file order,
// with its line and column.
func TestBroken(t *testing.T) {
	_, err := topo.Load("testdata/broken.yaml")
	var list topo.ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("Load: err = %v, want an ErrorList", err)
	}
	const f = "testdata/broken.yaml:"
	want := []string{
		f + `2:7: lab name "Broken_Lab" is not valid; use lower-case letters and digits, at most 12`,
		f + `3:10: unknown runtime "lxd"; write runtime: netns, docker or swarm`,
		f + `5:7: unknown key "kidn" in node "a"; did you mean "kind"?`,
		f + `8:3: node name "thisnameistoolong" is 17 characters long; shorten it to at most 10 (namespaces are named o7s-<lab>-<node>)`,
		f + `9:14: unknown kind "router" for node r1; write kind: node, bridge or host`,
		f + `10:3: node "b" is defined twice (first at line 6); give each node its own name`,
		f + `12:23: dangling endpoint "x:e1": there is no node x; did you mean a:e1?`,
		f + `13:5: a veth link has exactly 2 endpoints, not 3; write endpoints: [a:e1, b:e1], or join more with a bridge`,
		f + `13:17: interface a:e1 is already used by the link at line 12; use another interface, e.g. a:e3`,
		f + `13:29: link connects node b to itself; connect two different nodes`,
		f + `14:28: b is a node of kind node, not a bridge; declare it as b: {kind: bridge}, or name a bridge node`,
		f + `14:49: endpoint "lan0:e1" is on the bridge itself; list the nodes on bridge lan0, e.g. [a:e1, b:e1]`,
		f + `15:18: interface name "averylonginterfacename" is 22 bytes long and the kernel allows at most 15; write a short name such as a:e3`,
		f + `15:56: mtu 20 is out of range; write an mtu from 68 to 65535`,
		f + `16:50: unknown family "ipv5"; write family: ipv4 or ipv6`,
		f + `18:18: layer eth-ab is eth-dix, which needs a veth or bridge link, but a:u0--b:u0 is a udp link; write type: udp4, or put the layer on an Ethernet link`,
		f + `19:3: layer name "Bad_Layer" is not valid; use lower-case letters, digits, '-' and '.', starting with a letter or digit`,
		f + `19:36: layer Bad_Layer names link "a:e9--b:e9", which is not under links:; did you mean "a:e1--x:e1"?`,
		f + `20:3: layer net has no members; add members: [a, b], the nodes with an IPCP in it (the first bootstraps the layer)`,
		f + `21:16: story step 1 names node "x", which the topology does not have; did you mean a?`,
	}
	if diff := cmp.Diff(want, lines(list)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

// A valid file the rule cases below break one rule at a time.
const valid = `name: t
nodes: {a: {}, b: {}}
links:
  - endpoints: [a:e1, b:e1]
`

// TestValid makes sure the base of the rule cases is valid.
func TestValid(t *testing.T) {
	if _, err := topo.Parse("t.yaml", []byte(valid)); err != nil {
		t.Fatal(err)
	}
}

// TestRules breaks one rule per case and checks the exact problems.
func TestRules(t *testing.T) {
	for _, tc := range ruleCases {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, problems(t, tc.yaml)); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

type ruleCase struct {
	name string
	yaml string
	want []string
}

var ruleCases = []ruleCase{
	// Decoding: keys, types, duplicates, syntax.
	{"unknown top key", "name: t\nnodse: {a: {}}\n", []string{
		`t.yaml:1: no nodes; add nodes: with at least one node, e.g. nodes: {a: {}, b: {}}`,
		`t.yaml:2:1: unknown key "nodse" in the topology; did you mean "nodes"?`,
	}},
	{"unknown node key", "name: t\nnodes:\n  a: {labls: {x: y}, foo: 1}\n", []string{
		`t.yaml:3:7: unknown key "labls" in node "a"; did you mean "labels"?`,
		`t.yaml:3:22: unknown key "foo" in node "a"; write one of kind, labels, names, ip, routes, runtime, image, cpus, memory, impl, host`,
	}},
	{"unknown link key", valid + "    endpiont: 1\n", []string{
		`t.yaml:5:5: unknown key "endpiont" in a link; did you mean "endpoints"?`,
	}},
	{"unknown layer key", valid + "layers:\n  l: {type: eth-dix, link: \"a:e1--b:e1\", lnk: x}\n", []string{
		`t.yaml:6:42: unknown key "lnk" in layer "l"; did you mean "link"?`,
	}},
	{"upper keys on a shim", valid + "layers:\n  l: {type: eth-dix, link: \"a:e1--b:e1\", lower: {}}\n", []string{
		`t.yaml:6:42: lower is for unicast and broadcast layers, but l is eth-dix, which runs on its link; remove lower:`,
	}},
	{"per-node runtime", "name: t\nnodes: {a: {runtime: vm}}\n", []string{
		`t.yaml:2:22: unknown runtime "vm" for node a; write runtime: netns or runtime: docker`,
	}},
	{"docker bridge", "name: t\nnodes: {l: {kind: bridge, runtime: docker}}\n", []string{
		`t.yaml:2:36: node l is a bridge, which is always a network namespace (only nodes that run onode can be containers); remove runtime:`,
	}},
	{"image without docker", "name: t\nnodes: {a: {image: x, cpus: 1, memory: 64m}}\n", []string{
		`t.yaml:2:20: node a runs in a network namespace, and image: is for containers; add runtime: docker to the node (or to the file), or remove image:`,
		`t.yaml:2:29: node a runs in a network namespace, and cpus: is for containers; add runtime: docker to the node (or to the file), or remove cpus:`,
		`t.yaml:2:40: node a runs in a network namespace, and memory: is for containers; add runtime: docker to the node (or to the file), or remove memory:`,
	}},
	{"docker limits", "name: t\nruntime: docker\nnodes: {a: {cpus: -1, memory: 1m}, b: {cpus: x, memory: lots}}\n", []string{
		`t.yaml:3:19: cpus "-1" of node a is not a number of CPUs; write cpus: 0.5 (more than 0)`,
		`t.yaml:3:31: memory 1m of node a is too little for onode (at least 16m); write memory: 64m or more`,
		`t.yaml:3:46: cpus "x" of node b is not a number of CPUs; write cpus: 0.5 (more than 0)`,
		`t.yaml:3:57: memory "lots" of node b: not an amount of memory (a whole number and b, k, m or g); write memory: 256m`,
	}},
	{"mtu type", valid + "    mtu: big\n", []string{
		`t.yaml:5:10: mtu must be a whole number, not a string; write mtu: 9000`,
	}},
	{"endpoints type", "name: t\nnodes: {a: {}}\nlinks:\n  - endpoints: a:e1\n", []string{
		`t.yaml:4:16: endpoints must be a list, not a string; write endpoints: [a:e1, b:e1]`,
	}},
	{"nodes type", "name: t\nnodes: [a, b]\n", []string{
		`t.yaml:2:8: nodes must be a mapping, not a list; write nodes: {a: {}, b: {}}`,
	}},
	{"links type", "name: t\nnodes: {a: {}}\nlinks: {a: b}\n", []string{
		`t.yaml:3:9: links must be a list, not a mapping; write links: [{endpoints: [a:e1, b:e1]}]`,
	}},
	{"kind type", "name: t\nnodes: {a: {kind: [node]}}\n", []string{
		`t.yaml:2:19: kind must be a string, not a list; write kind: node, bridge or host`,
	}},
	{"top type", "- a\n- b\n", []string{
		`t.yaml:1:1: the topology must be a mapping, not a list; write name: <lab>, nodes:, links: and layers: at the top level`,
	}},
	{"duplicate node", "name: t\nnodes:\n  a: {}\n  b: {}\n  a: {kind: host}\n", []string{
		`t.yaml:5:3: node "a" is defined twice (first at line 3); give each node its own name`,
	}},
	{"duplicate key", "name: t\nnodes:\n  a: {kind: node, kind: host}\n", []string{
		`t.yaml:3:19: key "kind" is defined twice (first at line 3); keep one`,
	}},
	{"duplicate layer", valid + "layers:\n  l: {type: eth-dix, link: \"a:e1--b:e1\"}\n  l: {type: eth-llc, link: \"a:e1--b:e1\"}\n", []string{
		`t.yaml:7:3: layer "l" is defined twice (first at line 6); give each layer its own name`,
	}},
	{"duplicate top key", valid + "name: u\n", []string{
		`t.yaml:5:1: key "name" is defined twice (first at line 1); keep one`,
	}},
	{"syntax", "name: t\nnodes: {a: {}\n", []string{
		`t.yaml:2:8: invalid YAML: could not find flow mapping end token '}'; fix the YAML syntax`,
	}},
	{"tab", "name: t\nnodes:\n\ta: {}\n", []string{
		`t.yaml:3:1: invalid YAML: found character '\t' that cannot start any token; indent with spaces, not tabs`,
	}},
	{"deep", "name: t\nnodes: " + strings.Repeat("[", 40) + strings.Repeat("]", 40) + "\n", []string{
		`t.yaml:2:39: values nest more than 32 deep; a topology file needs 6 levels at most: write the values with less nesting`,
	}},
	{"two documents", valid + "---\nname: u\n", []string{
		`t.yaml:5:1: a topology file holds one YAML document; remove the second --- and what follows it`,
	}},
	{"unknown alias", "name: t\nnodes: {a: *x}\n", []string{
		`t.yaml:2:12: alias *x names no anchor; define &x before using it`,
	}},

	// The lab.
	{"no name", "nodes: {a: {}}\n", []string{
		`t.yaml:1: no lab name; add name: <lab> (lower-case letters and digits, at most 12)`,
	}},
	{"bad lab name", "name: -lab\nnodes: {a: {}}\n", []string{
		`t.yaml:1:7: lab name "-lab" is not valid; use lower-case letters and digits, at most 12`,
	}},
	{"dash in lab name", "name: a-b\nnodes: {c: {}}\n", []string{
		`t.yaml:1:7: lab name "a-b" has a '-', which would make namespace names o7s-<lab>-<node> ambiguous between labs; write "ab"`,
	}},
	{"long lab name", "name: abcdefghijklm\nnodes: {a: {}}\n", []string{
		`t.yaml:1:7: lab name "abcdefghijklm" is 13 characters long; shorten it to at most 12 (namespaces are named o7s-<lab>-<node>)`,
	}},
	{"unknown runtime", "name: t\nruntime: lxc\nnodes: {a: {}}\n", []string{
		`t.yaml:2:10: unknown runtime "lxc"; write runtime: netns, docker or swarm`,
	}},
	{"story type", "name: t\nnodes: {a: {}}\nstory: {a: 1}\n", []string{
		`t.yaml:3:9: story must be a list of steps, not a mapping; write story: [{node: a, run: "oping -n oping -c 10"}]`,
	}},

	// Nodes.
	{"no nodes", "name: t\nnodes: {}\n", []string{
		`t.yaml:2:1: no nodes; add nodes: with at least one node, e.g. nodes: {a: {}, b: {}}`,
	}},
	{"bad node name", "name: t\nnodes: {A: {}, a_b: {}}\n", []string{
		`t.yaml:2:9: node name "A" is not valid; use lower-case letters, digits and '-', starting with a letter or digit`,
		`t.yaml:2:16: node name "a_b" is not valid; use lower-case letters, digits and '-', starting with a letter or digit`,
	}},
	{"long node name", "name: t\nnodes: {abcdefghijk: {}}\n", []string{
		`t.yaml:2:9: node name "abcdefghijk" is 11 characters long; shorten it to at most 10 (namespaces are named o7s-<lab>-<node>)`,
	}},
	{"unknown kind", "name: t\nnodes: {a: {kind: switch}}\n", []string{
		`t.yaml:2:19: unknown kind "switch" for node a; write kind: node, bridge or host`,
	}},

	// Links.
	{"dangling endpoint", "name: t\nnodes: {a: {}, b: {}}\nlinks:\n  - endpoints: [a:e1, c:e1]\n", []string{
		`t.yaml:4:23: dangling endpoint "c:e1": there is no node c; did you mean a:e1?`,
	}},
	{"dangling far", "name: t\nnodes: {a: {}, b: {}}\nlinks:\n  - endpoints: [a:e1, router:e1]\n", []string{
		`t.yaml:4:23: dangling endpoint "router:e1": there is no node router; declare it under nodes: or fix the name`,
	}},
	{"endpoint without interface", "name: t\nnodes: {a: {}, b: {}}\nlinks:\n  - endpoints: [a, b:e1]\n", []string{
		`t.yaml:4:17: endpoint "a" has no interface; write node:interface, e.g. a:e1`,
	}},
	{"endpoint without node", "name: t\nnodes: {a: {}, b: {}}\nlinks:\n  - endpoints: [\":e1\", b:e1]\n", []string{
		`t.yaml:4:17: endpoint ":e1" has no node; write node:interface, e.g. a:e1`,
	}},
	{"veth to a bridge", "name: t\nnodes: {a: {}, lan0: {kind: bridge}}\nlinks:\n  - endpoints: [a:e1, lan0:e1]\n", []string{
		`t.yaml:4:23: endpoint "lan0:e1" is on bridge lan0, which only bridge links join; write {type: bridge, bridge: lan0, endpoints: [a:e1, b:e1]}`,
	}},
	{"bridge on its own link", "name: t\nnodes: {a: {}, lan0: {kind: bridge}}\nlinks:\n  - {type: bridge, bridge: lan0, endpoints: [a:e1, lan0:e1]}\n", []string{
		`t.yaml:4:52: endpoint "lan0:e1" is on the bridge itself; list the nodes on bridge lan0, e.g. [a:e1, b:e1]`,
	}},
	{"host on udp", "name: t\nnodes: {a: {}, h: {kind: host}}\nlinks:\n  - {type: udp, endpoints: [a:u0, h:u0]}\n", []string{
		`t.yaml:4:35: endpoint "h:u0" is on host h, which runs no onode for a udp layer; connect a host with a veth or bridge link`,
	}},
	{"bridge not a bridge", "name: t\nnodes: {a: {}, b: {}}\nlinks:\n  - {type: bridge, bridge: b, endpoints: [a:e1]}\n", []string{
		`t.yaml:4:28: b is a node of kind node, not a bridge; declare it as b: {kind: bridge}, or name a bridge node`,
	}},
	{"bridge unknown", "name: t\nnodes: {a: {}}\nlinks:\n  - {type: bridge, bridge: lan0, endpoints: [a:e1]}\n", []string{
		`t.yaml:4:28: bridge "lan0" is not a node; declare it under nodes: as lan0: {kind: bridge}`,
	}},
	{"bridge missing", "name: t\nnodes: {a: {}}\nlinks:\n  - {type: bridge, endpoints: [a:e1]}\n", []string{
		`t.yaml:4:6: a bridge link needs its bridge; add bridge: <name of a node of kind bridge>`,
	}},
	{"bridge on veth", valid + "    bridge: lan0\n", []string{
		`t.yaml:5:13: bridge is only for bridge links; remove it, or write type: bridge`,
	}},
	{"bridge twice", "name: t\nnodes: {a: {}, b: {}, lan0: {kind: bridge}}\nlinks:\n  - {type: bridge, bridge: lan0, endpoints: [a:e1]}\n  - {type: bridge, bridge: lan0, endpoints: [b:e1]}\n", []string{
		`t.yaml:5:28: bridge lan0 already has a link (line 4); put all its endpoints in that one link`,
	}},
	{"bridge without endpoints", "name: t\nnodes: {lan0: {kind: bridge}}\nlinks:\n  - {type: bridge, bridge: lan0, endpoints: []}\n", []string{
		`t.yaml:4:34: a bridge link needs at least one endpoint; write endpoints: [a:e1, b:e1]`,
	}},
	{"node twice on a bridge", "name: t\nnodes: {a: {}, lan0: {kind: bridge}}\nlinks:\n  - {type: bridge, bridge: lan0, endpoints: [a:e1, a:e2]}\n", []string{
		`t.yaml:4:52: node a is on bridge lan0 twice; give it one endpoint`,
	}},
	{"one endpoint", "name: t\nnodes: {a: {}}\nlinks:\n  - endpoints: [a:e1]\n", []string{
		`t.yaml:4:5: a veth link has exactly 2 endpoints, not 1; write endpoints: [a:e1, b:e1], or join more with a bridge`,
	}},
	{"three udp endpoints", "name: t\nnodes: {a: {}, b: {}, c: {}}\nlinks:\n  - {type: udp, endpoints: [a:u0, b:u0, c:u0]}\n", []string{
		`t.yaml:4:17: a udp link has exactly 2 endpoints, not 3; write endpoints: [a:e1, b:e1], or join more with a bridge`,
	}},
	{"no endpoints", "name: t\nnodes: {a: {}}\nlinks:\n  - {mtu: 1500}\n", []string{
		`t.yaml:4:6: a link needs endpoints; add endpoints: [a:e1, b:e1]`,
	}},
	{"self link", "name: t\nnodes: {a: {}}\nlinks:\n  - endpoints: [a:e1, a:e2]\n", []string{
		`t.yaml:4:23: link connects node a to itself; connect two different nodes`,
	}},
	{"interface twice", valid + "  - endpoints: [b:e2, a:e1]\n", []string{
		`t.yaml:5:23: interface a:e1 is already used by the link at line 4; use another interface, e.g. a:e2`,
	}},
	{"interface twice on udp", "name: t\nnodes: {a: {}, b: {}, c: {}}\nlinks:\n  - {type: udp, endpoints: [a:u0, b:u0]}\n  - {type: udp, endpoints: [a:u0, c:u0]}\n", []string{
		`t.yaml:5:29: interface a:u0 is already used by the link at line 4; use another interface, e.g. a:u1`,
	}},
	{"long interface", "name: t\nnodes: {a: {}, b: {}}\nlinks:\n  - endpoints: [a:abcdefghijklmnop, b:e1]\n", []string{
		`t.yaml:4:17: interface name "abcdefghijklmnop" is 16 bytes long and the kernel allows at most 15; write a short name such as a:e1`,
	}},
	{"interface characters", "name: t\nnodes: {a: {}, b: {}}\nlinks:\n  - endpoints: [\"a:e/1\", \"b:e 1\", ]\n", []string{
		`t.yaml:4:17: interface name "e/1" contains '/', which the kernel does not allow; write a short name such as a:e1`,
		`t.yaml:4:26: interface name "e 1" contains ' ', which the kernel does not allow; write a short name such as b:e1`,
	}},
	{"interface lo and empty", "name: t\nnodes: {a: {}, b: {}}\nlinks:\n  - endpoints: [a:lo, \"b:\"]\n", []string{
		`t.yaml:4:17: interface name "lo" is the namespace's loopback; write a short name such as a:e1`,
		`t.yaml:4:23: interface name "" is empty; write a short name such as b:e1`,
	}},
	{"unknown link type", "name: t\nnodes: {a: {}, b: {}}\nlinks:\n  - {type: vxlan, endpoints: [a:e1, b:e1]}\n", []string{
		`t.yaml:4:12: unknown link type "vxlan"; write type: veth, bridge or udp`,
	}},
	{"bad family", "name: t\nnodes: {a: {}, b: {}}\nlinks:\n  - {type: udp, endpoints: [a:u0, b:u0], family: ip6}\n", []string{
		`t.yaml:4:50: unknown family "ip6"; write family: ipv4 or ipv6`,
	}},
	{"family on veth", valid + "    family: ipv4\n", []string{
		`t.yaml:5:13: family is only for udp links; remove it, or write type: udp`,
	}},
	{"mtu too small", valid + "    mtu: 67\n", []string{
		`t.yaml:5:10: mtu 67 is out of range; write an mtu from 68 to 65535`,
	}},
	{"mtu too large", valid + "    mtu: 65536\n", []string{
		`t.yaml:5:10: mtu 65536 is out of range; write an mtu from 68 to 65535`,
	}},
	{"mtu negative", valid + "    mtu: -1\n", []string{
		`t.yaml:5:10: mtu -1 is out of range; write an mtu from 68 to 65535`,
	}},
	{"mtu fraction", valid + "    mtu: 1500.5\n", []string{
		`t.yaml:5:10: mtu must be a whole number, not a fraction; write mtu: 9000`,
	}},
	{"mtu huge", valid + "    mtu: 99999999999999999999\n", []string{
		`t.yaml:5:10: mtu 99999999999999999999 is out of range; write an mtu from 68 to 65535`,
	}},
	{"mtu ipv6", "name: t\nnodes: {a: {}, b: {}}\nlinks:\n  - {type: udp, endpoints: [a:u0, b:u0], family: ipv6, mtu: 1000}\n", []string{
		`t.yaml:4:61: mtu 1000 is too small for ipv6, which needs at least 1280; write mtu: 1280 or more`,
	}},

	// Layers.
	{"bad layer name", valid + "layers:\n  Eth_ab: {type: eth-dix, link: \"a:e1--b:e1\"}\n", []string{
		`t.yaml:6:3: layer name "Eth_ab" is not valid; use lower-case letters, digits, '-' and '.', starting with a letter or digit`,
	}},
	{"layer without type", valid + "layers:\n  l: {link: \"a:e1--b:e1\"}\n", []string{
		`t.yaml:6:3: layer l has no type; add type: eth-dix, eth-llc, udp4, udp6, unicast or broadcast`,
	}},
	{"unknown layer type", valid + "layers:\n  l: {type: eth, link: \"a:e1--b:e1\"}\n", []string{
		`t.yaml:6:13: unknown layer type "eth"; write type: eth-dix, eth-llc, udp4, udp6, unicast or broadcast`,
	}},
	{"broadcast layer without members", valid + "layers:\n  l: {type: broadcast}\n", []string{
		`t.yaml:6:3: layer l has no members; add members: [a, b], the nodes with an IPCP in it (the first bootstraps the layer)`,
	}},
	{"layer without link", valid + "layers:\n  l: {type: eth-dix}\n", []string{
		`t.yaml:6:3: layer l has no link; add link: "a:e1--b:e1", or the bridge's name for a LAN`,
	}},
	{"unknown link", valid + "layers:\n  l: {type: eth-dix, link: \"a:e1--b:e2\"}\n", []string{
		`t.yaml:6:28: layer l names link "a:e1--b:e2", which is not under links:; did you mean "a:e1--b:e1"?`,
	}},
	{"unknown link far", valid + "layers:\n  l: {type: eth-dix, link: lan0}\n", []string{
		`t.yaml:6:28: layer l names link "lan0", which is not under links:; name a link "<node>:<iface>--<node>:<iface>", or a LAN by its bridge`,
	}},
	{"no links", "name: t\nnodes: {a: {}}\nlayers:\n  l: {type: eth-dix, link: \"a:e1--b:e1\"}\n", []string{
		`t.yaml:4:28: layer l names link "a:e1--b:e1", which is not under links:; add the link under links: first`,
	}},
	{"eth on udp", "name: t\nnodes: {a: {}, b: {}}\nlinks:\n  - {type: udp, endpoints: [a:u0, b:u0], family: ipv6}\nlayers:\n  l: {type: eth-llc, link: \"a:u0--b:u0\"}\n", []string{
		`t.yaml:6:13: layer l is eth-llc, which needs a veth or bridge link, but a:u0--b:u0 is a udp link; write type: udp6, or put the layer on an Ethernet link`,
	}},
	{"udp on veth", valid + "layers:\n  l: {type: udp4, link: \"b:e1--a:e1\"}\n", []string{
		`t.yaml:6:13: layer l is udp4, which needs a udp link, but a:e1--b:e1 is a veth link; write type: eth-dix, or put the layer on a udp link`,
	}},
	{"udp family", "name: t\nnodes: {a: {}, b: {}}\nlinks:\n  - {type: udp, endpoints: [a:u0, b:u0]}\nlayers:\n  l: {type: udp6, link: \"a:u0--b:u0\"}\n", []string{
		`t.yaml:6:13: layer l is udp6, but link a:u0--b:u0 has family ipv4; write type: udp4`,
	}},
	{"two layers of a type", valid + "layers:\n  l: {type: eth-dix, link: \"a:e1--b:e1\"}\n  m: {type: eth-dix, link: \"a:e1--b:e1\"}\n", []string{
		`t.yaml:7:13: link a:e1--b:e1 already carries eth-dix layer l (line 6); put one layer of each type on a link`,
	}},
	{"layer without members", "name: t\nnodes: {h: {kind: host}, g: {kind: host}}\nlinks:\n  - endpoints: [h:e1, g:e1]\nlayers:\n  l: {type: eth-dix, link: \"h:e1--g:e1\"}\n", []string{
		`t.yaml:6:28: layer l has no members: no node on link h:e1--g:e1 is of kind node; put the layer on a link between nodes of kind node`,
	}},

	// Names.
	{"name in unknown layer", `name: t
nodes:
  a: {names: {oping: [eth-ab, eth-xy]}}
  b: {}
  c: {}
links:
  - endpoints: [a:e1, b:e1]
  - endpoints: [b:e2, c:e1]
layers:
  eth-ab: {type: eth-dix, link: "a:e1--b:e1"}
  eth-bc: {type: eth-dix, link: "b:e2--c:e1"}
`, []string{
		`t.yaml:3:31: name "oping" on node a names layer "eth-xy", which does not exist; write layers a is in: eth-ab`,
	}},
	{"name in a layer of others", `name: t
nodes:
  a: {names: {oping: [eth-bc, eth-ab, eth-ab]}}
  b: {}
  c: {}
links:
  - endpoints: [a:e1, b:e1]
  - endpoints: [b:e2, c:e1]
layers:
  eth-ab: {type: eth-dix, link: "a:e1--b:e1"}
  eth-bc: {type: eth-dix, link: "b:e2--c:e1"}
`, []string{
		`t.yaml:3:23: name "oping" on node a names layer eth-bc, but a is not a member of it; write layers a is in: eth-ab`,
		`t.yaml:3:39: layer eth-ab is listed twice for name "oping"; list it once`,
	}},
	{"name in an implied layer", `name: t
nodes:
  a: {names: {oping: [dix-a-b], ocbr: []}}
  b: {}
  c: {names: {oping: [dix-a-b]}}
links:
  - endpoints: [a:e1, b:e1]
`, []string{
		`t.yaml:3:33: name "ocbr" on node a is registered in no layer; write layers a is in: dix-a-b`,
		`t.yaml:5:23: name "oping" on node c names layer dix-a-b, but c is not a member of it; node c is in no layer, so remove names:`,
	}},
	{"names on a bridge", `name: t
nodes:
  lan0: {kind: bridge, names: {oping: [x]}}
  h: {kind: host, names: {oping: [x]}}
`, []string{
		`t.yaml:3:24: node lan0 is a bridge and runs no onode, so it registers no names; remove names:`,
		`t.yaml:4:19: node h is a host and runs no onode, so it registers no names; remove names:`,
	}},
}
