package topo

import (
	"context"
	"errors"
	"strings"
	"testing"
)

const swarmFile = `name: sw
runtime: swarm
hosts:
  e1: {engine: unix:///run/o7s/swarm/o7s/e1.sock}
  e2: {engine: "tcp://192.0.2.7:2376", tls: {ca: ca.pem, cert: cert.pem, key: key.pem}}
nodes:
  a: {host: e2}
  b: {}
  c: {}
  d: {image: o7s/node:latest}
  lan0: {kind: bridge}
links:
  - endpoints: [a:e1, b:e1]
  - {type: bridge, bridge: lan0, endpoints: [b:e2, c:e2, d:e2]}
layers:
  ab: {type: eth-dix, link: "a:e1--b:e1"}
  lan: {type: eth-dix, link: lan0}
`

// TestSwarmPlacement: host: places a node, the others go round the hosts
// in file order, a bridge has no host, and the hosts keep their TLS files.
func TestSwarmPlacement(t *testing.T) {
	top, err := Parse("sw.yaml", []byte(swarmFile))
	if err != nil {
		t.Fatal(err)
	}
	if top.Runtime != RuntimeSwarm || len(top.Hosts) != 2 {
		t.Fatalf("runtime %q, %d hosts", top.Runtime, len(top.Hosts))
	}
	want := map[string]string{"a": "e2", "b": "e1", "c": "e2", "d": "e1", "lan0": ""}
	for _, n := range top.Nodes {
		if n.Host != want[n.Name] {
			t.Errorf("node %s on host %q, want %q", n.Name, n.Host, want[n.Name])
		}
		if n.Runtime != RuntimeSwarm {
			t.Errorf("node %s runtime %q", n.Name, n.Runtime)
		}
	}
	if h := top.Host("e2"); h == nil || h.Engine != "tcp://192.0.2.7:2376" || h.CA != "ca.pem" || h.Key != "key.pem" {
		t.Errorf("host e2 = %+v", h)
	}
	if top.Node("d").Image != "o7s/node:latest" {
		t.Errorf("d's image %q", top.Node("d").Image)
	}
}

// TestSwarmHostsOption: a file without hosts: takes the hosts it is
// deployed with (otb deploy --swarm), and --runtime swarm makes any file
// a swarm lab.
func TestSwarmHostsOption(t *testing.T) {
	file := "name: x\nnodes: {a: {}, b: {}, c: {}}\nlinks: [{endpoints: [a:e1, b:e1]}]\n"
	hosts := []*Host{{Name: "e1", Engine: "unix:///s1"}, {Name: "e2", Engine: "unix:///s2"}}
	top, err := parse(context.Background(), "x.yaml", []byte(file), LoadOptions{Runtime: RuntimeSwarm, Hosts: hosts})
	if err != nil {
		t.Fatal(err)
	}
	got := ""
	for _, n := range top.Nodes {
		got += n.Name + "@" + n.Host + " "
	}
	if got != "a@e1 b@e2 c@e1 " {
		t.Errorf("placement %q", got)
	}
	if _, err := parse(context.Background(), "x.yaml", []byte(file), LoadOptions{Runtime: RuntimeSwarm}); err == nil ||
		!strings.Contains(err.Error(), "deploy with --swarm NAME") {
		t.Errorf("swarm without hosts: %v", err)
	}
}

// TestSwarmErrors: what a swarm lab cannot have is named with its line
// and what to write.
func TestSwarmErrors(t *testing.T) {
	for _, tc := range []struct{ name, file, want string }{
		{"hosts without swarm", "name: t\nhosts: {e1: {engine: unix:///s}}\nnodes: {a: {}}\n",
			"t.yaml:2:1: hosts: names the engines of a swarm lab; add runtime: swarm"},
		{"host without swarm", "name: t\nnodes: {a: {host: e1}}\n",
			"t.yaml:2:19: node a has host:, which places a node of a swarm lab"},
		{"unknown host", "name: t\nruntime: swarm\nhosts: {e1: {engine: unix:///s}}\nnodes: {a: {host: e9}}\n",
			`t.yaml:4:19: node a is on host "e9", which hosts: does not name (it names e1)`},
		{"no engine", "name: t\nruntime: swarm\nhosts: {e1: {}}\nnodes: {a: {}}\n",
			"t.yaml:3:9: host e1 has no engine"},
		{"bad engine", "name: t\nruntime: swarm\nhosts: {e1: {engine: /var/run/docker.sock}}\nnodes: {a: {}}\n",
			`engine "/var/run/docker.sock" of host e1 is not an engine address`},
		{"tls on unix", "name: t\nruntime: swarm\nhosts: {e1: {engine: unix:///s, tls: {ca: c}}}\nnodes: {a: {}}\n",
			"host e1 has tls: but its engine is not tcp://"},
		{"node runtime in swarm", "name: t\nruntime: swarm\nhosts: {e1: {engine: unix:///s}}\nnodes: {a: {runtime: docker}}\n",
			"node a has runtime docker in a swarm lab"},
		{"node runtime swarm", "name: t\nnodes: {a: {runtime: swarm}}\n",
			"node a has runtime swarm: a swarm lab is a whole file's"},
		{"ip host in swarm", "name: t\nruntime: swarm\nhosts: {e1: {engine: unix:///s}}\nnodes: {h: {kind: host}}\n",
			"node h is an IP host, which a swarm lab has not got yet"},
		{"host on a bridge", "name: t\nruntime: swarm\nhosts: {e1: {engine: unix:///s}}\nnodes: {br: {kind: bridge, host: e1}}\n",
			"node br is a bridge: in a swarm lab a LAN is a segment among its members"},
		{"unknown host key", "name: t\nruntime: swarm\nhosts: {e1: {engine: unix:///s, engnie: x}}\nnodes: {a: {}}\n",
			`unknown key "engnie" in host "e1"`},
	} {
		_, err := Parse("t.yaml", []byte(tc.file))
		var el ErrorList
		if !errors.As(err, &el) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v\nwant %q", tc.name, err, tc.want)
		}
	}
}
