package topo_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestUpperRules breaks one rule of unicast and broadcast layers per case
// and checks the exact problems.
func TestUpperRules(t *testing.T) {
	for _, tc := range upperCases {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, problems(t, tc.yaml)); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

// up is a unicast layer net over the whole ring4 with extra keys.
func up(extra string) string {
	return ring4 + "  net: {type: unicast, members: [a, b, c, d], lower: " + ringLower + extra + "}\n"
}

var upperCases = []ruleCase{
	// Members.
	{"no members", ring4 + "  net: {type: unicast, lower: {a: [dix-a-b]}}\n", []string{
		`t.yaml:9:3: layer net has no members; add members: [a, b], the nodes with an IPCP in it (the first bootstraps the layer)`,
	}},
	{"empty members", ring4 + "  net: {type: unicast, members: []}\n", []string{
		`t.yaml:9:24: layer net has no members; list the nodes with an IPCP in it, e.g. members: [a, b]`,
	}},
	{"members not a list", ring4 + "  net: {type: unicast, members: a}\n", []string{
		`t.yaml:9:33: members must be a list, not a string; write members: [a, b, c]`,
	}},
	{"bad members", ring4 + "  net: {type: unicast, members: [a, x, h, lan0, a, bb]}\n", []string{
		`t.yaml:9:37: layer net has member "x", which is not a node; did you mean a?`,
		`t.yaml:9:40: member h of layer net is a host and runs no onode; remove it from members:`,
		`t.yaml:9:43: member lan0 of layer net is a bridge and runs no onode; remove it from members:`,
		`t.yaml:9:49: member a is listed twice in layer net; list it once`,
		`t.yaml:9:52: layer net has member "bb", which is not a node; did you mean b?`,
	}},
	{"no type", ring4 + "  net: {members: [a, b], lower: {a: [dix-a-b], b: [dix-a-b]}}\n", []string{
		`t.yaml:9:3: layer net has no type; add type: unicast or broadcast`,
	}},
	{"typo of unicast", ring4 + "  net: {type: unicst, members: [a, b], lower: {a: [dix-a-b], b: [dix-a-b]}}\n", []string{
		`t.yaml:9:15: unknown layer type "unicst"; did you mean "unicast"?`,
	}},
	{"link on unicast", ring4 + "  net: {type: unicast, link: \"a:e1--b:e1\", members: [a, b], lower: {a: [dix-a-b], b: [dix-a-b]}}\n", []string{
		`t.yaml:9:30: layer net is unicast, which runs over lower layers, not on a link; remove link: and list each member's lower layers under lower:`,
	}},
	{"upper keys on a shim", ring4 + "  l: {type: eth-dix, link: \"a:e1--b:e1\", members: [a], enrollment: minimal, connect: minimal, policies: {}, adjacencies: []}\n", []string{
		`t.yaml:9:42: members is for unicast and broadcast layers, but l is eth-dix, whose members are its link's nodes; remove members:`,
		`t.yaml:9:68: enrollment is for unicast and broadcast layers, but l is eth-dix; remove enrollment:`,
		`t.yaml:9:86: connect is for unicast and broadcast layers, but l is eth-dix; remove connect:`,
		`t.yaml:9:95: policies is for unicast and broadcast layers, but l is eth-dix; remove policies:`,
		`t.yaml:9:109: adjacencies is for unicast and broadcast layers, but l is eth-dix; remove adjacencies:`,
	}},

	// Lower layers.
	{"no lower", ring4 + "  net: {type: unicast, members: [a, b]}\n", []string{
		`t.yaml:9:3: layer net has no lower layers; add lower: with the layers each member reaches the others through, e.g. lower: {a: [dix-a-b, dix-d-a], b: [dix-a-b, dix-b-c]}`,
	}},
	{"member without lower", ring4 + "  net: {type: unicast, members: [a, b, c], lower: {a: [dix-a-b], b: [dix-a-b], c: []}}\n", []string{
		`t.yaml:9:80: member c of layer net has no lower layers; write layers c is in: dix-b-c, dix-c-d`,
	}},
	{"member missing from lower", ring4 + "  net: {type: unicast, members: [a, b, c], lower: {a: [dix-a-b], b: [dix-a-b]}}\n", []string{
		`t.yaml:9:40: member c of layer net has no lower layers; write layers c is in: dix-b-c, dix-c-d`,
	}},
	{"lower of a non-member", ring4 + "  net: {type: unicast, members: [a, b], lower: {a: [dix-a-b], b: [dix-a-b], c: [dix-b-c]}}\n", []string{
		`t.yaml:9:77: lower names c, which is not a member of layer net; add c to members:, or remove it from lower:`,
	}},
	{"unknown lower layer", ring4 + "  net: {type: unicast, members: [a, b], lower: {a: [dix-a-x], b: [dix-a-b, nope]}}\n", []string{
		`t.yaml:9:53: lower layer "dix-a-x" of a in layer net does not exist; did you mean dix-a-b?`,
		`t.yaml:9:76: lower layer "nope" of b in layer net does not exist; write layers b is in: dix-a-b, dix-b-c`,
	}},
	{"lower layer of others", ring4 + "  net: {type: unicast, members: [a, b], lower: {a: [dix-a-b], b: [dix-a-b, dix-c-d]}}\n", []string{
		`t.yaml:9:76: b is not a member of lower layer dix-c-d; write layers b is in: dix-a-b, dix-b-c`,
	}},
	{"lower layer twice", ring4 + "  net: {type: unicast, members: [a, b], lower: {a: [dix-a-b, dix-a-b], b: [dix-a-b]}}\n", []string{
		`t.yaml:9:62: lower layer dix-a-b is listed twice for a; list it once`,
	}},
	{"over itself", ring4 + "  net: {type: unicast, members: [a, b], lower: {a: [net], b: [dix-a-b]}}\n", []string{
		`t.yaml:9:53: layer net cannot run over itself; remove net from the lower layers of a`,
	}},
	{"over broadcast", ring4 + "  bc: {type: broadcast, members: [a, b], lower: {a: [dix-a-b], b: [dix-a-b]}}\n  net: {type: unicast, members: [a, b], lower: {a: [bc], b: [bc]}}\n", []string{
		`t.yaml:10:53: lower layer bc is a broadcast layer, which carries no flows to names; use a shim or unicast layer`,
		`t.yaml:10:62: lower layer bc is a broadcast layer, which carries no flows to names; use a shim or unicast layer`,
	}},
	{"cycle", ring4 + "  x: {type: unicast, members: [a, b], lower: {a: [y], b: [y]}}\n  y: {type: unicast, members: [a, b], lower: {a: [z], b: [z]}}\n  z: {type: unicast, members: [a, b], lower: {a: [x], b: [x]}}\n", []string{
		`t.yaml:9:3: layers x, y, z run over each other (x → y → z → x); a layer cannot run over itself, directly or through others: remove x from the lower layers of z`,
	}},
	{"disconnected", ring4 + "  net: {type: unicast, members: [a, b, c, d], lower: {a: [dix-a-b], b: [dix-a-b], c: [dix-c-d], d: [dix-c-d]}}\n", []string{
		`t.yaml:9:83: members c, d of layer net share no lower layer with a, b, which the bootstrapper a reaches; add dix-b-c, which c and b are both in, to their lower layers`,
	}},
	{"disconnected, no layer between", "name: t\nnodes: {a: {}, b: {}, c: {}}\nlinks:\n  - endpoints: [a:e1, b:e1]\n  - endpoints: [c:e1, b:e2]\nlayers:\n  l: {type: eth-dix, link: \"c:e1--b:e2\"}\n  net: {type: unicast, members: [a, c], lower: {a: [dix-a-b], c: [l]}}\n", []string{
		`t.yaml:8:63: member c of layer net shares no lower layer with a, which the bootstrapper a reaches; link c to a and list the link's layer under lower: for both`,
	}},

	// Strategies.
	{"unknown strategies", up(", enrollment: min, connect: star"), []string{
		`t.yaml:9:160: unknown enrollment strategy "min"; write enrollment: minimal, full-mesh or manual`,
		`t.yaml:9:174: unknown connect strategy "star"; write connect: minimal, full-mesh or manual`,
	}},
	{"manual without adjacencies", up(", connect: manual"), []string{
		`t.yaml:9:157: connect: manual needs the pairs of members to join; add adjacencies: [[a, b], [b, c]]`,
	}},
	{"adjacencies without manual", up(", adjacencies: [[a, b]]"), []string{
		`t.yaml:9:148: adjacencies are for manual strategies; write enrollment: manual or connect: manual, or remove adjacencies:`,
	}},
	{"bad adjacencies", up(", enrollment: manual, adjacencies: [[a, x], [a, a], [a, b], [b, a], [a, c], [a], b]"), []string{
		`t.yaml:9:186: adjacency names x, which is not a member of layer net; write members of it: a, b, c, d`,
		`t.yaml:9:194: adjacency joins a to itself; join two different members`,
		`t.yaml:9:207: adjacency b–a is listed twice; list it once`,
		`t.yaml:9:215: members a and c of layer net share no lower layer, so they cannot be adjacent; join members that do, or give both a layer they are in under lower:`,
		`t.yaml:9:222: an adjacency joins 2 members, not 1; write adjacencies: [[a, b], [b, c]]`,
		`t.yaml:9:227: an adjacency must be a list, not a string; write adjacencies: [[a, b], [b, c]]`,
	}},
	{"adjacencies leave members apart", up(", enrollment: manual, adjacencies: [[a, b], [c, d]]"), []string{
		`t.yaml:9:168: the adjacencies of layer net (enrollment: manual) leave c, d apart from a, b; add [b, c]`,
	}},
	{"connect adjacencies leave members apart", up(", connect: manual, adjacencies: [[a, b], [b, c]]"), []string{
		`t.yaml:9:165: the adjacencies of layer net (connect: manual) leave d apart from a, b, c; add [a, d]`,
	}},

	// Broadcast layers.
	{"broadcast ring", ring4 + "  bc: {type: broadcast, members: [a, b, c, d], lower: " + ringLower + ", connect: full-mesh}\n", []string{
		`t.yaml:9:158: the adjacencies of broadcast layer bc form a loop (c – b – a – d – c); a broadcast layer forwards without loop protection, so they must form a tree: write connect: minimal, or manual adjacencies without a loop`,
	}},
	{"broadcast manual loop", ring4 + "  bc: {type: broadcast, members: [a, b, c, d], lower: " + ringLower + ", connect: manual, adjacencies: [[a, b], [b, c], [c, d], [d, a]]}\n", []string{
		`t.yaml:9:204: the adjacencies of broadcast layer bc form a loop (a – b – c – d – a); a broadcast layer forwards without loop protection, so they must form a tree: write connect: minimal, or manual adjacencies without a loop`,
	}},
	{"broadcast policies", ring4 + "  bc: {type: broadcast, members: [a, b], lower: {a: [dix-a-b], b: [dix-a-b]}, policies: {routing: lfa}}\n", []string{
		`t.yaml:9:79: layer bc is broadcast, which has no policies; remove policies:`,
	}},
	{"name in broadcast", "name: t\nnodes: {a: {names: {x: [bc]}}, b: {}}\nlinks:\n  - endpoints: [a:e1, b:e1]\nlayers:\n  bc: {type: broadcast, members: [a, b], lower: {a: [dix-a-b], b: [dix-a-b]}}\n", []string{
		`t.yaml:2:25: name "x" on node a names layer bc, which is broadcast and has no names (programs join it by its name); register it in a unicast or shim layer`,
	}},

	// Policies.
	{"bad policy values", up(", policies: {routing: link_state, ca: ecn, dir: kademlia, hash: sha3-256, addr_auth: flat, pff: simple}"), []string{
		`t.yaml:9:168: unknown routing policy "link_state"; did you mean routing: link-state?`,
		`t.yaml:9:184: unknown ca policy "ecn"; write ca: mb-ecn or none`,
		`t.yaml:9:194: unknown dir policy "kademlia"; write dir: dht`,
		`t.yaml:9:210: unknown hash policy "sha3-256"; write hash: SHA3_224, SHA3_256, SHA3_384 or SHA3_512`,
	}},
	{"dt_qos unknown", up(", policies: {dt_qos: quick}"), []string{
		`t.yaml:9:167: unknown dt_qos policy "quick"; write dt_qos: raw, raw-voice, raw-video, best, voice, video or data`,
	}},
	{"policy numbers", up(", policies: {max_ttl: 0, ls_t_update: 99999, dht_k: 30, dht_alpha: x, ls_t_recalc: -1}"), []string{
		`t.yaml:9:168: max_ttl 0 is out of range; write a whole number from 1 to 255 (hops), e.g. max_ttl: 60`,
		`t.yaml:9:184: ls_t_update 99999 is out of range; write a whole number from 1 to 3600 (seconds), e.g. ls_t_update: 15`,
		`t.yaml:9:198: dht_k 30 is out of range; write a whole number from 1 to 20, e.g. dht_k: 8`,
		`t.yaml:9:213: dht_alpha must be a whole number, not a string; write dht_alpha: 3`,
		`t.yaml:9:229: ls_t_recalc -1 is out of range; write a whole number from 1 to 3600 (seconds), e.g. ls_t_recalc: 4`,
	}},
	{"unknown policy", up(", policies: {routng: lfa, congestion: none}"), []string{
		`t.yaml:9:159: unknown key "routng" in the policies of layer "net"; did you mean "routing"?`,
		`t.yaml:9:172: unknown key "congestion" in the policies of layer "net"; write one of routing, pff, dir, addr_auth, ca, hash, dt_qos, max_ttl, ls_t_update, ls_t_timeo, ls_t_recalc, dht_alpha, dht_k, dht_t_expire, dht_t_refresh, dht_t_replicate`,
	}},
	{"pff against routing", up(", policies: {routing: lfa, pff: multipath}"), []string{
		`t.yaml:9:178: pff multipath does not go with routing lfa, whose forwarding table is alternate; write pff: alternate, or leave pff out`,
	}},
	{"timeo not above update", up(", policies: {ls_t_update: 5, ls_t_timeo: 5}"), []string{
		`t.yaml:9:187: ls_t_timeo 5 is not above ls_t_update 5, so adjacencies would expire between updates; write ls_t_timeo: 15 (three updates) or more`,
	}},
	{"timeo below the default update", up(", policies: {ls_t_timeo: 10}"), []string{
		`t.yaml:9:171: ls_t_timeo 10 is not above ls_t_update 15, so adjacencies would expire between updates; write ls_t_timeo: 45 (three updates) or more`,
	}},
	{"alpha above k", up(", policies: {dht_alpha: 9}"), []string{
		`t.yaml:9:170: dht_alpha 9 is above dht_k 8, and a lookup cannot ask more peers than a bucket holds; write dht_alpha: 8 or less`,
	}},
	{"policies not a mapping", up(", policies: [lfa]"), []string{
		`t.yaml:9:158: the policies of layer "net" must be a mapping, not a list; write policies: {routing: link-state, ca: mb-ecn}`,
	}},
}
