// Package topo is the testbed's topology model: the YAML file a user
// writes (../shared/design/TESTBED.md), decoded strictly, validated with
// every problem reported at once with file:line, and completed with what
// the file leaves implied (interface names, addresses, shim layers).
//
// A Topology is plain data: runtimes (testbed/netns) make it real.
package topo

import "net/netip"

// Node kinds.
const (
	KindNode   = "node"   // runs onode
	KindBridge = "bridge" // a shared Ethernet segment (a LAN)
	KindHost   = "host"   // a plain IP host, no onode
)

// Link types.
const (
	LinkVeth   = "veth"   // point to point Ethernet
	LinkBridge = "bridge" // members of a LAN bridge
	LinkUDP    = "udp"    // a veth pair with IP addresses, the underlay of udp4/udp6 layers
)

// Topology is a decoded, validated topology file.
type Topology struct {
	File    string // the path it was read from
	Name    string // the lab id: every resource carries it
	Runtime string // netns (docker comes later)
	Nodes   []*Node
	Links   []*Link
	Layers  []*Layer // in dependency order (shims first)
}

// Node is one node.
type Node struct {
	Name   string
	Kind   string
	Labels map[string]string
	// Names to create and register: name -> layers it is registered in.
	Names map[string][]string
	Line  int
}

// Endpoint is one end of a link: a node and its interface.
type Endpoint struct {
	Node  string
	Iface string // kernel interface name inside the node, ≤ 15 bytes
	// Addr is the interface address of a UDP link's endpoint (with its
	// prefix length); invalid for Ethernet links.
	Addr netip.Prefix
}

// Link is one link.
type Link struct {
	Type      string
	Endpoints []Endpoint // two for veth and udp; one or more for bridge
	Bridge    string     // the bridge node, for bridge links
	Family    string     // udp links: ipv4 | ipv6
	MTU       int        // 0: the kernel default (1500)
	Line      int
}

// ID is the link's name as the file writes it: "a:e1--b:e1", or the
// bridge's name for a LAN.
func (l *Link) ID() string {
	if l.Type == LinkBridge {
		return l.Bridge
	}
	return l.Endpoints[0].Node + ":" + l.Endpoints[0].Iface + "--" + l.Endpoints[1].Node + ":" + l.Endpoints[1].Iface
}

// Layer is an Ouroboros layer. Shim layers (eth-dix, eth-llc, udp4,
// udp6) sit on one link; their members are the link's nodes.
type Layer struct {
	Name    string
	Type    string // eth-dix | eth-llc | udp4 | udp6 (unicast, broadcast come later)
	Link    string // Link.ID() of the link a shim layer runs on
	Members []string
	Implied bool // made up because the file named no layer for the link
	Line    int
}

// IPCPName is the name of a layer's IPCP on a node: <layer>.<node>.
func IPCPName(layer, node string) string { return layer + "." + node }
