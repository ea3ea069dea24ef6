// Package topo is the testbed's topology model: the YAML file a user
// writes (../shared/design/TESTBED.md), decoded strictly, validated with
// every problem reported at once with file:line, and completed with what
// the file leaves implied (interface names, addresses, shim layers).
//
// A Topology is plain data: runtimes (testbed/netns) make it real.
package topo

import (
	"net/netip"

	"github.com/o7s/ouroboros/testbed/profiles"
)

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
	Runtime string // the file's: netns, docker or swarm (each node has its own, Node.Runtime)
	// Hosts are the engines a swarm lab's nodes run on (runtime: swarm).
	Hosts  []*Host `json:",omitempty"`
	Nodes  []*Node
	Links  []*Link
	Layers []*Layer // in dependency order (shims first)
	// Tunnels are the ovpn tunnels between gateways, in file order.
	Tunnels []*Tunnel `json:",omitempty"`
	// Story is the file's story (otb story run), or its story file's.
	Story []StoryStep `json:",omitempty"`
	// StoryFile is the story file the topology was loaded through, if any.
	StoryFile string `json:",omitempty"`
}

// Node is one node.
type Node struct {
	Name   string
	Kind   string
	Labels map[string]string
	// Names to create and register: name -> layers it is registered in.
	Names map[string][]string
	// Addrs are the IP addresses (with prefix length) of the node's
	// interfaces, by interface: a host's, or a gateway's on its LAN.
	Addrs map[string][]netip.Prefix `json:",omitempty"`
	// Routes: the file's, then those a tun tunnel implies for a host on
	// one of its LANs (the far LAN's subnets through the near gateway).
	Routes []Route `json:",omitempty"`
	// Runtime is where the node runs: RuntimeNetns or RuntimeDocker (nodes
	// of kind node only; bridges and hosts are always namespaces).
	Runtime string
	// Docker nodes: the image (empty: the testbed's own, o7s/node at
	// otb's version), and limits (zero: none).
	Image  string  `json:",omitempty"`
	CPUs   float64 `json:",omitempty"`
	Memory int64   `json:",omitempty"` // bytes
	// Host is the host (Topology.Hosts) a swarm lab's node runs on: its
	// host: or, without one, the next host in turn.
	Host string `json:",omitempty"`
	// Impl is what the node's impl: says, when it runs another Ouroboros
	// implementation than ours (always in a container), and Profile how
	// the testbed drives it (testbed/profiles); empty and nil for onode.
	Impl    string            `json:",omitempty"`
	Profile *profiles.Profile `json:"-"`
	Line    int
}

// Foreign tells whether the node runs another implementation than ours.
func (n *Node) Foreign() bool { return n.Profile != nil }

// Route is a route of a host or a gateway: To through the neighbour Via.
type Route struct {
	To      netip.Prefix
	Via     netip.Addr
	Implied bool `json:",omitempty"` // made from a tunnel, not written
}

func (r Route) String() string { return r.To.String() + " via " + r.Via.String() }

// Tunnel modes.
const (
	TunnelTun = "tun" // IP packets: the LANs are two subnets routed through the gateways
	TunnelTap = "tap" // Ethernet frames: the LANs are one broadcast domain
)

// Tunnel is an ovpn tunnel: the server gateway registers Name in Layer
// and runs ovpn as its server, the client gateway runs ovpn -n Name.
type Tunnel struct {
	Name   string
	Mode   string // TunnelTun | TunnelTap
	Layer  string
	QoS    string // the flow's QoS cube by name: raw unless written
	Server TunnelEnd
	Client TunnelEnd
	Line   int
}

// Ends are the tunnel's server end and its client end.
func (t *Tunnel) Ends() []*TunnelEnd { return []*TunnelEnd{&t.Server, &t.Client} }

// TunnelEnd is one gateway of a tunnel.
type TunnelEnd struct {
	Node  string
	LAN   string // the bridge node of the LAN it joins
	Iface string // the node's interface on that LAN
	Dev   string // the tun or tap device ovpn makes
	// Bridge (tap) is the bridge in the node's namespace that holds Iface
	// and the tap device, which makes the two LANs one segment.
	Bridge string `json:",omitempty"`
	// Addrs (tun) are the device's addresses, one per family; Routes the
	// far LAN's subnets, routed through the device.
	Addrs  []netip.Prefix `json:",omitempty"`
	Routes []netip.Prefix `json:",omitempty"`
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
	// Impair is what a point-to-point link does to frames: none, or one
	// Impairment per endpoint, Impair[i] acting on what Endpoints[i] sends.
	Impair []Impairment `json:",omitempty"`
	// Seed seeds the random decisions of the link's impairment relay, so
	// that a run repeats (0: one derived from the link's ID).
	Seed uint64 `json:",omitempty"`
	// Relay puts the link through a userspace impairment relay even when
	// no knob needs one, so that delay and the like can be set at run time.
	Relay bool `json:",omitempty"`
	Line  int
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
// udp6) sit on one link; their members are the link's nodes. Unicast and
// broadcast layers run over lower layers: each member lists the layers
// below it that it reaches the other members through.
type Layer struct {
	Name    string
	Type    string // eth-dix | eth-llc | udp4 | udp6 | unicast | broadcast
	Link    string `json:",omitempty"` // Link.ID() of the link a shim layer runs on
	Members []string
	Implied bool // made up because the file named no layer for the link
	Line    int

	// Unicast and broadcast layers only.

	// Lower: each member's lower layers, in the order written.
	Lower map[string][]string `json:",omitempty"`
	// Enrollment and Connect are the strategies (Enroll*, Connect*);
	// Adjacencies the pairs written for manual ones.
	Enrollment  string      `json:",omitempty"`
	Connect     string      `json:",omitempty"`
	Adjacencies [][2]string `json:",omitempty"`
	// Policies of a unicast layer, with every default filled in; nil for
	// other layers.
	Policies *Policies `json:",omitempty"`
	// Steps is how the layer comes up: the first member bootstraps it,
	// every other enrolls through a member enrolled before it (breadth
	// first from the bootstrapper), then makes its adjacencies.
	Steps []EnrollStep `json:",omitempty"`
}

// Enrollment and connect strategies.
const (
	// StrategyMinimal: enrollment goes along a breadth-first tree from the
	// bootstrapper over "shares a lower layer"; connect makes adjacencies
	// along the enrollment relation (for minimal enrollment: with the
	// member each one enrolled through).
	StrategyMinimal = "minimal"
	// StrategyFullMesh: the relation is every pair of members that share a
	// lower layer (each member still enrolls once, through its tree parent).
	StrategyFullMesh = "full-mesh"
	// StrategyManual: the relation is the layer's adjacencies.
	StrategyManual = "manual"
)

// EnrollStep is one member joining a layer.
type EnrollStep struct {
	Node string
	// Via is the member it enrolls through; empty for the bootstrapper.
	Via string `json:",omitempty"`
	// Connect are the members it makes management and data-transfer
	// adjacencies with, all enrolled before it (Via first, if among them).
	Connect []string `json:",omitempty"`
}

// Policies of a unicast layer (spec SYSTEM §8; irm ipcp bootstrap options).
type Policies struct {
	Routing  string // link-state | lfa | ecmp
	PFF      string // simple | alternate | multipath: follows Routing
	Dir      string // dht
	AddrAuth string // flat
	CA       string // mb-ecn | none: congestion avoidance
	Hash     string // SHA3_224 | SHA3_256 | SHA3_384 | SHA3_512
	// DTQoS is the QoS the data-transfer adjacencies are connected with:
	// raw, raw-voice or raw-video; it sets their QoS cube.
	DTQoS  string
	MaxTTL int
	// Link-state timers, in seconds: flood own adjacencies every
	// LSTUpdate, forget others' after LSTTimeo, recompute at most every
	// LSTRecalc.
	LSTUpdate, LSTTimeo, LSTRecalc int
	// DHT directory parameters; times in seconds.
	DHTAlpha, DHTK                         int
	DHTTExpire, DHTTRefresh, DHTTReplicate int
}

// Upper tells whether a layer runs over other layers (unicast,
// broadcast) rather than on a link.
func (ly *Layer) Upper() bool { return ly.Type == LayerUnicast || ly.Type == LayerBroadcast }

// Bootstrapper is the member that bootstraps the layer: the first listed.
func (ly *Layer) Bootstrapper() string {
	if len(ly.Members) == 0 {
		return ""
	}
	return ly.Members[0]
}

// IPCPName is the name of a layer's IPCP on a node: <layer>.<node>.
func IPCPName(layer, node string) string { return layer + "." + node }
