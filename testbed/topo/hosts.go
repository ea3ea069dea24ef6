package topo

import (
	"fmt"
	"strings"
)

// Host is an engine that a swarm lab's nodes run on.
type Host struct {
	Name   string
	Engine string // unix:///path or tcp://address:port
	// TLS files for a tcp:// engine (empty: none).
	CA, Cert, Key string `json:",omitempty"`
	Line          int    `json:",omitempty"`
}

// host reads one entry of hosts:.
func (d *decoder) host(hp pair) rawHost {
	h := rawHost{name: hp.key}
	what := fmt.Sprintf("host %q", hp.key.s)
	example := hp.key.s + ": {engine: unix:///run/o7s/swarm/o7s/e1.sock}"
	for _, p := range d.object(hp.val, what, example, hostKeys, nil) {
		switch p.key.s {
		case "engine":
			h.engine = d.str(p.val, "engine", "engine: unix:///run/o7s/swarm/o7s/e1.sock")
		case "tls":
			for _, q := range d.object(p.val, what+"'s tls", "tls: {ca: ca.pem, cert: cert.pem, key: key.pem}", tlsKeys, nil) {
				v := d.str(q.val, q.key.s, "ca: ca.pem")
				switch q.key.s {
				case "ca":
					h.ca = v
				case "cert":
					h.cert = v
				case "key":
					h.key = v
				}
			}
		}
	}
	return h
}

// hostsOf checks hosts: and places a swarm lab's nodes on them: a node's
// host: or, without one, the next host in turn.
func (b *builder) hostsOf(f *rawFile) {
	swarm := b.t.Runtime == RuntimeSwarm
	if len(f.hosts) > 0 && !swarm {
		b.errorf(f.hostsAt, "hosts: names the engines of a swarm lab; add runtime: swarm (or deploy with --runtime swarm), or remove hosts:")
	}
	seen := map[string]int{}
	for _, rh := range f.hosts {
		b.checkName(rh.name, "host name", MaxNodeName)
		if at, dup := seen[rh.name.s]; dup {
			b.errorf(rh.name.pos, "host %s is named twice (line %d)", rh.name.s, at)
			continue
		}
		seen[rh.name.s] = rh.name.line
		h := &Host{Name: rh.name.s, Engine: rh.engine.s, CA: rh.ca.s, Cert: rh.cert.s, Key: rh.key.s, Line: rh.name.line}
		switch {
		case !rh.engine.given():
			b.errorf(rh.name.pos, "host %s has no engine; write engine: unix:///path/to/docker.sock or engine: tcp://address:2376", h.Name)
		case !strings.HasPrefix(h.Engine, "unix:///") && !strings.HasPrefix(h.Engine, "tcp://"):
			b.errorf(rh.engine.pos, "engine %q of host %s is not an engine address; write unix:///path/to/docker.sock or tcp://address:2376", h.Engine, h.Name)
		}
		if (h.CA != "" || h.Cert != "" || h.Key != "") && !strings.HasPrefix(h.Engine, "tcp://") {
			b.errorf(rh.name.pos, "host %s has tls: but its engine is not tcp://; remove tls: or give a tcp:// engine", h.Name)
		}
		b.t.Hosts = append(b.t.Hosts, h)
	}
	if swarm && len(f.hosts) == 0 {
		b.t.Hosts = b.hostsOpt
	}
	at := map[string]rawNode{}
	for _, rn := range f.nodes {
		at[rn.name.s] = rn
	}
	if !swarm {
		for _, rn := range f.nodes {
			if rn.host.given() {
				b.errorf(rn.host.pos, "node %s has host:, which places a node of a swarm lab; add runtime: swarm to the file, or remove host:", rn.name.s)
			}
		}
		return
	}
	if len(b.t.Hosts) == 0 {
		b.errorf(pos{line: 1}, "runtime swarm places nodes on the engines of a swarm, and the file names none; add hosts: {e1: {engine: unix:///run/o7s/swarm/o7s/e1.sock}, ...}, or deploy with --swarm NAME (a swarm made by otb swarm up)")
		return
	}
	names := make([]string, len(b.t.Hosts))
	for i, h := range b.t.Hosts {
		names[i] = h.Name
	}
	next := 0
	for _, n := range b.t.Nodes {
		rn := at[n.Name]
		if n.Kind != KindNode {
			if rn.host.given() {
				b.errorf(rn.host.pos, "node %s is a %s: in a swarm lab a LAN is a segment among its members, and a %s has no host; remove host:", n.Name, n.Kind, n.Kind)
			}
			continue
		}
		if !rn.host.given() {
			n.Host = names[next%len(names)]
			next++
			continue
		}
		found := false
		for _, h := range names {
			found = found || h == rn.host.s
		}
		if !found {
			b.errorf(rn.host.pos, "node %s is on host %q, which hosts: does not name (it names %s)", n.Name, rn.host.s, strings.Join(names, ", "))
			continue
		}
		n.Host = rn.host.s
	}
}

// Host finds a host by name.
func (t *Topology) Host(name string) *Host {
	for _, h := range t.Hosts {
		if h.Name == name {
			return h
		}
	}
	return nil
}
