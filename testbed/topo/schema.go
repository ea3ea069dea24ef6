package topo

import (
	"fmt"
	"slices"
	"strings"

	"github.com/goccy/go-yaml/ast"
)

// The keys of each mapping in a topology file.
var (
	topKeys   = []string{"name", "runtime", "hosts", "nodes", "links", "layers", "tunnels", "story", "topology"}
	nodeKeys  = []string{"kind", "labels", "names", "ip", "routes", "runtime", "image", "cpus", "memory", "impl", "host"}
	hostKeys  = []string{"engine", "tls"}
	tlsKeys   = []string{"ca", "cert", "key"}
	linkKeys  = []string{"type", "endpoints", "bridge", "family", "mtu", "impair"}
	layerKeys = []string{"type", "link", "members", "lower", "enrollment", "connect", "policies", "adjacencies"}
	// policyKeys are a unicast layer's policies: the names, string-valued
	// then numeric, are irm ipcp bootstrap's (ca is its congestion).
	policyKeys    = []string{"routing", "pff", "dir", "addr_auth", "ca", "hash", "dt_qos"}
	policyNumbers = []string{"max_ttl", "ls_t_update", "ls_t_timeo", "ls_t_recalc",
		"dht_alpha", "dht_k", "dht_t_expire", "dht_t_refresh", "dht_t_replicate"}
)

// top walks the document: name, runtime, nodes, links, layers.
func (d *decoder) top(body ast.Node) *rawFile {
	f := &rawFile{}
	example := "name: <lab>, nodes:, links: and layers: at the top level"
	if b := d.resolve(body); !isNull(b) && describe(b) != "a mapping" {
		d.errorf(posOf(b), "the topology must be a mapping, not %s; write %s", describe(b), example)
		return nil
	}
	for _, p := range d.object(body, "the topology", example, topKeys, laterTop) {
		switch p.key.s {
		case "name":
			f.name = d.str(p.val, "name", "name: lab1")
		case "runtime":
			f.runtime = d.str(p.val, "runtime", "runtime: netns")
		case "nodes":
			f.nodesAt = p.key.pos
			if v := d.resolve(p.val); !isNull(v) && describe(v) != "a mapping" {
				f.nodesBad = true // pairs reports it; "no nodes" would be noise
			}
			sp := mapSpec{"nodes", "nodes: {a: {}, b: {}}", "node", "give each node its own name"}
			for _, np := range d.pairs(p.val, sp) {
				f.nodes = append(f.nodes, d.node(np))
			}
		case "links":
			f.links = d.links(p.val)
		case "story":
			f.storyAt = p.key.pos
			f.story = d.story(p.val)
		case "topology":
			f.topology = d.str(p.val, "topology", "topology: ring.yaml")
		case "hosts":
			f.hostsAt = p.key.pos
			sp := mapSpec{"hosts", "hosts: {e1: {engine: unix:///run/o7s/swarm/o7s/e1.sock}}", "host", "give each host its own name"}
			for _, hp := range d.pairs(p.val, sp) {
				f.hosts = append(f.hosts, d.host(hp))
			}
		case "tunnels":
			sp := mapSpec{"tunnels", "tunnels: {vpn: {layer: net, server: {node: g1, lan: lan1}, client: {node: g2, lan: lan2}}}", "tunnel", "give each tunnel its own name"}
			for _, tp := range d.pairs(p.val, sp) {
				f.tunnels = append(f.tunnels, d.tunnel(tp))
			}
		case "layers":
			sp := mapSpec{"layers", `layers: {eth-ab: {type: eth-dix, link: "a:e1--b:e1"}}`, "layer", "give each layer its own name"}
			for _, lp := range d.pairs(p.val, sp) {
				f.layers = append(f.layers, d.layer(lp))
			}
		}
	}
	return f
}

func (d *decoder) node(np pair) rawNode {
	n := rawNode{name: np.key}
	what := fmt.Sprintf("node %q", np.key.s)
	example := np.key.s + ": {} or " + np.key.s + ": {kind: bridge}"
	for _, p := range d.object(np.val, what, example, nodeKeys, laterNode) {
		switch p.key.s {
		case "kind":
			n.kind = d.str(p.val, "kind", "kind: node, bridge or host")
		case "labels":
			sp := mapSpec{"labels", "labels: {role: server}", "label", "keep one"}
			for _, lp := range d.pairs(p.val, sp) {
				if n.labels == nil {
					n.labels = map[string]string{}
				}
				n.labels[lp.key.s] = d.str(lp.val, "a label's value", "labels: {role: server}").s
			}
		case "names":
			n.namesAt = p.key.pos
			sp := mapSpec{"names", "names: {oping: [eth-ab]}", "name", "keep one"}
			for _, q := range d.pairs(p.val, sp) {
				layers, _ := d.strList(q.val, "a name's layers", q.key.s+": [eth-ab]", false)
				n.names = append(n.names, rawName{q.key, layers})
			}
		case "ip":
			n.ipAt = p.key.pos
			n.ips = d.ips(p.val, np.key.s)
		case "routes":
			n.routesAt = p.key.pos
			n.routes, _ = d.strList(p.val, "routes", `routes: ["10.2.0.0/24 via 10.1.0.1"]`, false)
		case "runtime":
			n.runtime = d.str(p.val, "runtime", "runtime: docker")
		case "image":
			n.image = d.str(p.val, "image", "image: o7s/node:latest")
		case "cpus":
			n.cpus = d.str(p.val, "cpus", "cpus: 0.5")
		case "memory":
			n.memory = d.str(p.val, "memory", "memory: 256m")
		case "impl":
			n.impl = d.str(p.val, "impl", "impl: reference")
		case "host":
			n.host = d.str(p.val, "host", "host: e1")
		}
	}
	return n
}

func (d *decoder) links(n ast.Node) []rawLink {
	n = d.resolve(n)
	if isNull(n) {
		return nil
	}
	seq, ok := n.(*ast.SequenceNode)
	if !ok {
		d.errorf(posOf(n), "links must be a list, not %s; write links: [{endpoints: [a:e1, b:e1]}]", describe(n))
		return nil
	}
	links := make([]rawLink, 0, len(seq.Values))
	for _, v := range seq.Values {
		links = append(links, d.link(v))
	}
	return links
}

func (d *decoder) link(v ast.Node) rawLink {
	l := rawLink{at: posOf(d.resolve(v))}
	for _, p := range d.object(v, "a link", "- {endpoints: [a:e1, b:e1]}", linkKeys, laterLink) {
		switch p.key.s {
		case "type":
			l.typ = d.str(p.val, "type", "type: veth, bridge or udp")
		case "endpoints":
			l.endpointsAt = p.key.pos
			l.endpoints, l.endpointsOK = d.strList(p.val, "endpoints", "endpoints: [a:e1, b:e1]", true)
		case "bridge":
			l.bridge = d.str(p.val, "bridge", "bridge: lan0")
		case "family":
			l.family = d.str(p.val, "family", "family: ipv4 or ipv6")
		case "mtu":
			l.mtu = d.number(p.val, "mtu", "mtu: 9000")
		case "impair":
			l.impairAt = p.key.pos
			l.impair = d.impair(p.val)
		}
	}
	return l
}

// impair decodes a link's impairment: knobs for both directions, and
// directions ("a->b": {knobs}) whose knobs apply that way only.
func (d *decoder) impair(n ast.Node) rawImpair {
	const example = "impair: {loss: 1%, rate: 100mbit, a->b: {duplicate: 0.1%}}"
	var ri rawImpair
	for _, p := range d.pairs(n, mapSpec{"impair", example, "key", "keep one"}) {
		switch {
		case slices.Contains(Knobs, p.key.s):
			ri.knobs = append(ri.knobs, d.knob(p))
		case p.key.s == KeySeed:
			ri.seed = d.str(p.val, "impair seed", "seed: 7")
		case p.key.s == KeyRelay:
			ri.relay = d.str(p.val, "impair relay", "relay: true")
		case strings.Contains(p.key.s, "->"):
			what := "impair " + p.key.s
			eg := p.key.s + ": {loss: 1%}"
			dir := rawDir{key: p.key}
			for _, q := range d.pairs(p.val, mapSpec{what, eg, "key", "keep one"}) {
				if !slices.Contains(Knobs, q.key.s) {
					d.unknownKnob(q.key, what, false)
					continue
				}
				dir.knobs = append(dir.knobs, d.knob(q))
			}
			ri.dirs = append(ri.dirs, dir)
		default:
			d.unknownKnob(p.key, "impair", true)
		}
	}
	return ri
}

// knob decodes one knob's value; a null value is left for the builder
// to report, a value of the wrong kind is reported here.
func (d *decoder) knob(p pair) rawKnob {
	if isNull(d.resolve(p.val)) {
		return rawKnob{key: p.key}
	}
	v := d.str(p.val, p.key.s, knobExample[p.key.s])
	return rawKnob{key: p.key, val: v, bad: !v.given()}
}

func (d *decoder) unknownKnob(k scalar, what string, dirs bool) {
	or := ""
	if dirs {
		or = ", or a direction such as a->b: {loss: 1%}"
	}
	if s := suggest(k.s, Knobs); s != "" {
		d.errorf(k.pos, "unknown key %q in %s; did you mean %q?", k.s, what, s)
		return
	}
	if dirs {
		or = ", " + KeySeed + ", " + KeyRelay + or
	}
	d.errorf(k.pos, "unknown key %q in %s; write one of %s%s", k.s, what, strings.Join(Knobs, ", "), or)
}

// knobExample is a valid value of each knob, for messages.
var knobExample = map[string]string{
	KnobLoss: "loss: 1%", KnobDuplicate: "duplicate: 0.1%", KnobRate: "rate: 100mbit",
	KnobDelay: "delay: 10ms", KnobJitter: "jitter: 2ms", KnobReorder: "reorder: 1%",
	KnobCorrupt: "corrupt: 0.1%", KnobLossBurst: "loss_burst: 3",
}

func (d *decoder) layer(lp pair) rawLayer {
	ly := rawLayer{name: lp.key}
	what := fmt.Sprintf("layer %q", lp.key.s)
	example := lp.key.s + `: {type: eth-dix, link: "a:e1--b:e1"}`
	for _, p := range d.object(lp.val, what, example, layerKeys, laterLayer) {
		switch p.key.s {
		case "type":
			ly.typ = d.str(p.val, "type", "type: eth-dix, eth-llc, udp4, udp6, unicast or broadcast")
		case "link":
			ly.link = d.str(p.val, "link", `link: "a:e1--b:e1"`)
		case "members":
			ly.membersAt = p.key.pos
			var ok bool
			ly.members, ok = d.strList(p.val, "members", "members: [a, b, c]", false)
			ly.membersBad = !ok
		case "lower":
			ly.lowerAt = p.key.pos
			sp := mapSpec{"lower", "lower: {a: [eth-ab], b: [eth-ab]}", "member", "list its lower layers once"}
			for _, q := range d.pairs(p.val, sp) {
				layers, _ := d.strList(q.val, "a member's lower layers", q.key.s+": [eth-ab]", false)
				ly.lower = append(ly.lower, rawLower{q.key, layers})
			}
		case "enrollment":
			ly.enrollment = d.str(p.val, "enrollment", "enrollment: minimal, full-mesh or manual")
		case "connect":
			ly.connect = d.str(p.val, "connect", "connect: minimal, full-mesh or manual")
		case "policies":
			ly.policiesAt = p.key.pos
			ly.policies = d.policies(p.val, lp.key.s)
		case "adjacencies":
			ly.adjacenciesAt = p.key.pos
			d.adjacencies(p.val, &ly)
		}
	}
	return ly
}

func (d *decoder) policies(n ast.Node, layer string) []rawPolicy {
	what := fmt.Sprintf("the policies of layer %q", layer)
	example := "policies: {routing: link-state, ca: mb-ecn}"
	var ps []rawPolicy
	for _, p := range d.object(n, what, example, append(slices.Clip(policyKeys), policyNumbers...), nil) {
		if slices.Contains(policyNumbers, p.key.s) {
			eg := fmt.Sprintf("%s: %d", p.key.s, policyRanges[p.key.s].def)
			ps = append(ps, rawPolicy{key: p.key, val: d.number(p.val, p.key.s, eg), number: true})
			continue
		}
		ps = append(ps, rawPolicy{key: p.key, val: d.str(p.val, p.key.s, example)})
	}
	return ps
}

// adjacencies decodes a list of member pairs: [[a, b], [b, c]].
func (d *decoder) adjacencies(n ast.Node, ly *rawLayer) {
	const example = "adjacencies: [[a, b], [b, c]]"
	n = d.resolve(n)
	if isNull(n) {
		return
	}
	seq, ok := n.(*ast.SequenceNode)
	if !ok {
		d.errorf(posOf(n), "adjacencies must be a list of pairs, not %s; write %s", describe(n), example)
		return
	}
	for _, v := range seq.Values {
		at := posOf(d.resolve(v))
		pair, ok := d.strList(v, "an adjacency", example, false)
		if !ok {
			continue
		}
		if len(pair) != 2 {
			d.errorf(at, "an adjacency joins 2 members, not %d; write %s", len(pair), example)
			continue
		}
		ly.adjacencies = append(ly.adjacencies, pair)
		ly.adjacencyAt = append(ly.adjacencyAt, at)
	}
}

// suggest is the option nearest to s, if it is near enough to be a typo.
func suggest(s string, options []string) string {
	best, bestD := "", len(s)/3+2
	for _, o := range options {
		if d := editDistance(s, o); d < bestD {
			best, bestD = o, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	row := make([]int, len(b)+1)
	for j := range row {
		row[j] = j
	}
	for i := 1; i <= len(a); i++ {
		prev := row[0]
		row[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur := min(row[j]+1, row[j-1]+1, prev+cost)
			prev, row[j] = row[j], cur
		}
	}
	return row[len(b)]
}
