// Package sim is an in-process network for tests and benchmarks without
// root: many nodes (each a full irm.Node with its control socket) in one
// process, joined by in-memory Ethernet links (package ethtest), each link
// a two-port hub carrying an eth-dix layer, with unicast layers formed
// over them by the same steps an operator takes: create, bind, register
// in the lower layers, bootstrap, enroll and connect.
//
// Topologies built from a seed (Random) are the same for the same seed;
// layer addresses and DHT ids stay random, as in a real layer.
package sim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/o7s/ouroboros/stack/ctl"
	"github.com/o7s/ouroboros/stack/errs"
	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/stack/ipcp/eth"
	"github.com/o7s/ouroboros/stack/ipcp/eth/ethtest"
	"github.com/o7s/ouroboros/stack/irm"
	"github.com/o7s/ouroboros/stack/qos"
)

// Net is a set of nodes and links.
type Net struct {
	tb    testing.TB
	dir   string
	Nodes []*Node
	Links []*Link
	byNm  map[string]*Node
	log   *slog.Logger
	// Phases of the last Layer call.
	Phases Phases
	// Enrolled are the nodes of the last Layer call in the order they
	// joined it, the bootstrapping node first.
	Enrolled []*Node
	// Joined, if set, is called as each node joins a layer (the first once
	// it has bootstrapped, the others once enrolled; Enrolled ends with
	// it), with its IPCP in the layer. The layer's adjacencies are
	// connected after every node has joined.
	Joined func(nd *Node, id uint32)
	// NoPorts makes the nodes added after it is set keep their unicast
	// IPCPs on their lower flows' socket pairs (irm.Config.NoPorts);
	// New sets it from OUROBOROS_NO_PORTS=1, as onode does.
	NoPorts bool
}

// Node is one system.
type Node struct {
	Name string
	N    *irm.Node
	Sock string
	// Unicast IPCP of each unicast layer, by layer name.
	Unicast map[string]uint32
	lower   map[string]uint32 // eth IPCP of each link layer
	links   []*Link

	mu    sync.Mutex
	ports map[string]*ethtest.Port // opened by the eth constructor, by dev
}

// Link is an Ethernet link between two nodes: a hub with two ports and an
// eth-dix layer named after it.
type Link struct {
	A, B  *Node
	Layer string
	Hub   *ethtest.Hub
	// DTQoS is what the layers over the link connect data transfer with
	// (its QoS cube); the zero value is raw.
	DTQoS qos.Spec
	pa    *ethtest.Port
	pb    *ethtest.Port
}

// New makes an empty network; everything is closed when tb ends. Logs go
// to tb with -v, at level lvl.
func New(tb testing.TB) *Net {
	dir, err := os.MkdirTemp("", "o7ssim")
	if err != nil {
		tb.Fatal(err)
	}
	n := &Net{tb: tb, dir: dir, byNm: map[string]*Node{}, log: slog.New(slog.DiscardHandler), NoPorts: os.Getenv("OUROBOROS_NO_PORTS") == "1"}
	if testing.Verbose() && os.Getenv("SIM_LOG") != "" {
		n.log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	tb.Cleanup(func() {
		var wg sync.WaitGroup
		for _, nd := range n.Nodes {
			wg.Add(1)
			go func() { defer wg.Done(); nd.N.Close() }()
		}
		wg.Wait()
		os.RemoveAll(dir)
	})
	return n
}

// Node returns the node named name.
func (n *Net) Node(name string) *Node { return n.byNm[name] }

// AddNode starts a node.
func (n *Net) AddNode(name string) *Node {
	nd := &Node{Name: name, Sock: filepath.Join(n.dir, name+".sock"), Unicast: map[string]uint32{}, lower: map[string]uint32{}, ports: map[string]*ethtest.Port{}}
	n.start(nd)
	n.Nodes = append(n.Nodes, nd)
	n.byNm[name] = nd
	return nd
}

// start starts nd's node (irm.Node), whose Ethernet IPCPs open nd's ports.
func (n *Net) start(nd *Node) {
	name := nd.Name
	cfg := irm.Config{Sock: nd.Sock, Log: n.log.With("node", name), NoPorts: n.NoPorts, Constructors: map[ipcp.Type]irm.Constructor{
		ipcp.EthDIX: func(id uint32, irmI ipcp.IRM, log *slog.Logger) ipcp.IPCP {
			return eth.New(ipcp.EthDIX, id, irmI, log, func(conf ipcp.EthConfig, llc bool) (eth.Link, error) {
				nd.mu.Lock()
				defer nd.mu.Unlock()
				p := nd.ports[conf.Dev]
				if p == nil {
					return nil, fmt.Errorf("sim: node %s has no port %s", name, conf.Dev)
				}
				return p, nil
			})
		},
	}}
	in, err := irm.Start(cfg)
	if err != nil {
		n.tb.Fatal(err)
	}
	nd.N = in
}

// Connect joins a and b with a link and brings up its eth-dix layer.
func (n *Net) Connect(a, b *Node) *Link {
	hub := ethtest.NewHub()
	l := &Link{A: a, B: b, Layer: fmt.Sprintf("e-%s-%s", a.Name, b.Name), Hub: hub}
	for i := 2; n.hasLayer(l.Layer); i++ {
		l.Layer = fmt.Sprintf("e-%s-%s-%d", a.Name, b.Name, i)
	}
	l.pa, l.pb = hub.NewPort(l.Layer+"@"+a.Name, 1500), hub.NewPort(l.Layer+"@"+b.Name, 1500)
	for _, nd := range []*Node{a, b} {
		n.linkLayer(nd, l)
		nd.links = append(nd.links, l)
	}
	n.Links = append(n.Links, l)
	return l
}

// linkLayer bootstraps nd's eth-dix IPCP of link l on nd's port.
func (n *Net) linkLayer(nd *Node, l *Link) {
	nd.mu.Lock()
	nd.ports[l.Layer] = l.port(nd)
	nd.mu.Unlock()
	id, err := nd.N.CreateIPCP(l.Layer+"."+nd.Name, ipcp.EthDIX)
	if err != nil {
		n.tb.Fatal(err)
	}
	conf := ipcp.Config{Layer: l.Layer, Hash: ipcp.SHA3_256, Eth: &ipcp.EthConfig{Dev: l.Layer, Ethertype: ipcp.DefaultEthertype}}
	if err := nd.N.BootstrapIPCP(context.Background(), id, conf); err != nil {
		n.tb.Fatal(err)
	}
	nd.lower[l.Layer] = id
}

// Restart stops nd's node as onode stops (its IPCPs go; nothing is said
// on the links, whose carrier stays up) and starts it again on the same
// interfaces (the same addresses): its link layers bootstrapped again,
// and in each unicast layer it was in a new IPCP, under a new address,
// enrolled through a neighbour, with the adjacencies of its links made
// again, each by the side that made it when the layer formed (Link.A).
// Unlike otb's restart, no neighbour disconnects its old adjacency first:
// the neighbours learn of the restart from the layers alone.
func (n *Net) Restart(nd *Node) error {
	var layers []string
	for name := range nd.Unicast {
		layers = append(layers, name)
	}
	slices.Sort(layers)
	nd.N.Close()
	for _, l := range nd.links {
		p := l.port(nd).Reopen()
		if l.A == nd {
			l.pa = p
		} else {
			l.pb = p
		}
	}
	nd.lower = map[string]uint32{}
	n.start(nd)
	for _, l := range nd.links {
		n.linkLayer(nd, l)
	}
	if len(layers) > 0 && len(nd.links) == 0 {
		return fmt.Errorf("sim: %s has no link to enroll over", nd.Name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, name := range layers {
		id, err := n.member(nd, name, ipcp.Unicast)
		if err != nil {
			return err
		}
		nd.Unicast[name] = id
		via := nd.links[0].Other(nd)
		if err := again(ctx, func() error { return nd.N.EnrollIPCP(ctx, id, IPCPName(name, via.Name)) }); err != nil {
			return fmt.Errorf("%s: enroll through %s: %w", nd.Name, via.Name, err)
		}
		for _, l := range nd.links {
			if err := n.connect(ctx, l, name, l.A.Unicast[name], ""); err != nil {
				return err
			}
		}
	}
	return nil
}

func (n *Net) hasLayer(name string) bool {
	for _, l := range n.Links {
		if l.Layer == name {
			return true
		}
	}
	return false
}

// SetUp takes the link down (frames are lost, and both ends see the
// carrier go) or up again.
func (l *Link) SetUp(up bool) {
	l.pa.Cut(!up)
	l.pb.Cut(!up)
	l.pa.SetCarrier(up)
	l.pb.SetCarrier(up)
}

// Mute makes nd's end of l lose every frame it sends (true), or send
// them again (false). The carrier stays up at both ends, so nothing tells
// the IPCPs: this is a shaper that lets nothing through (tc tbf at 1 kbit)
// on nd's interface. Frames towards nd still arrive.
func (l *Link) Mute(nd *Node, on bool) { l.port(nd).Mute(on) }

// Cut makes l lose every frame both ways (true), or carry them again
// (false), with the carrier up at both ends.
func (l *Link) Cut(on bool) {
	l.pa.Cut(on)
	l.pb.Cut(on)
}

func (l *Link) port(nd *Node) *ethtest.Port {
	if l.A == nd {
		return l.pa
	}
	return l.pb
}

// Other is the end of l that is not nd.
func (l *Link) Other(nd *Node) *Node {
	if l.A == nd {
		return l.B
	}
	return l.A
}

// IPCPName is the name of node's IPCP in layer: <layer>.<node>.
func IPCPName(layer, node string) string { return layer + "." + node }

// Layer forms a unicast layer over every node and link of the network:
// the first node bootstraps, the others enroll breadth-first through a
// neighbour, and every link gets management and data-transfer adjacencies.
// It returns once the layer has converged.
func (n *Net) Layer(name string, conf *ipcp.UnicastConfig) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	n.Phases = Phases{Start: time.Now()}
	ids, err := n.form(ctx, name, ipcp.Unicast, ipcp.Config{Layer: name, Hash: ipcp.SHA3_256, Unicast: conf}, "")
	if err != nil {
		return err
	}
	for _, nd := range n.Nodes {
		nd.Unicast[name] = ids[nd.Name]
	}
	n.Phases.Connected = time.Now()
	cctx, ccancel := context.WithTimeout(ctx, 30*time.Second)
	err = n.Converge(cctx, name)
	ccancel()
	n.Phases.Converged = time.Now()
	return err
}

// form takes an operator's steps for a layer of type typ over every node
// and link: on every node create an IPCP named <layer>.<node>, bind it to
// that name and to the layer's and register both in the node's link
// layers; bootstrap the first node with conf, enroll the others
// breadth-first through a neighbour, and connect every link with component
// comp (empty: both). It returns the IPCP of each node, by node name.
func (n *Net) form(ctx context.Context, name string, typ ipcp.Type, conf ipcp.Config, comp string) (map[string]uint32, error) {
	ids := map[string]uint32{}
	for _, nd := range n.Nodes {
		id, err := n.member(nd, name, typ)
		if err != nil {
			return nil, err
		}
		ids[nd.Name] = id
	}
	n.Phases.Created = time.Now()
	if len(n.Nodes) == 0 {
		return ids, nil
	}
	first := n.Nodes[0]
	if err := first.N.BootstrapIPCP(ctx, ids[first.Name], conf); err != nil {
		return nil, fmt.Errorf("%s: bootstrap: %w", first.Name, err)
	}
	in := map[*Node]bool{first: true}
	queue := []*Node{first}
	n.Enrolled = []*Node{first}
	if n.Joined != nil {
		n.Joined(first, ids[first.Name])
	}
	for len(queue) > 0 {
		nd := queue[0]
		queue = queue[1:]
		for _, l := range nd.links {
			nb := l.Other(nd)
			if in[nb] {
				continue
			}
			in[nb] = true
			if err := again(ctx, func() error { return nb.N.EnrollIPCP(ctx, ids[nb.Name], IPCPName(name, nd.Name)) }); err != nil {
				return nil, fmt.Errorf("%s: enroll through %s: %w", nb.Name, nd.Name, err)
			}
			queue = append(queue, nb)
			n.Enrolled = append(n.Enrolled, nb)
			if n.Joined != nil {
				n.Joined(nb, ids[nb.Name])
			}
		}
	}
	n.Phases.Enrolled = time.Now()
	for _, l := range n.Links {
		if err := n.connect(ctx, l, name, ids[l.A.Name], comp); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// member creates nd's IPCP of type typ in layer name, <layer>.<node>,
// binds it to that name and to the layer's, and registers both in nd's
// link layers.
func (n *Net) member(nd *Node, name string, typ ipcp.Type) (uint32, error) {
	id, err := nd.N.CreateIPCP(IPCPName(name, nd.Name), typ)
	if err != nil {
		return 0, err
	}
	for _, nm := range []string{IPCPName(name, nd.Name), name} {
		if err := nd.N.CreateName(nm, ctl.RoundRobin); err != nil && nm != name {
			return 0, err
		}
		if err := nd.N.BindIPCP(id, nm); err != nil {
			return 0, err
		}
		for _, l := range nd.links {
			if err := nd.N.RegName(nm, nd.lower[l.Layer]); err != nil {
				return 0, fmt.Errorf("%s: register %s in %s: %w", nd.Name, nm, l.Layer, err)
			}
		}
	}
	return id, nil
}

// connect makes the adjacencies of link l in layer name, of component
// comp (empty: both), from l.A's IPCP id to l.B's.
func (n *Net) connect(ctx context.Context, l *Link, name string, id uint32, comp string) error {
	qs := l.DTQoS
	if qs == (qos.Spec{}) {
		qs = qos.Raw
	}
	if err := again(ctx, func() error { return l.A.N.ConnectIPCP(ctx, id, IPCPName(name, l.B.Name), comp, qs) }); err != nil {
		return fmt.Errorf("%s: connect to %s: %w (hub: %d delivered, %d dropped full, %d no port)", l.A.Name, l.B.Name, err,
			l.Hub.Stats.Delivered.Load(), l.Hub.Stats.DropFull.Load(), l.Hub.Stats.DropNoPort.Load())
	}
	return nil
}

// again runs an enrollment or connection step, and runs it again when it
// failed in a way that trying again may mend, as an operator (or otb)
// would: the exchanges wait a second for their peer, and a name query in
// the layer below as long, which a loaded machine running a hundred nodes
// in one process does not always meet.
func again(ctx context.Context, step func() error) error {
	const tries = 4
	var err error
	for range tries {
		if err = step(); err == nil || ctx.Err() != nil || permanent(err) {
			return err
		}
	}
	return fmt.Errorf("%d tries: %w", tries, err)
}

// permanent tells errors that trying again will not mend.
func permanent(err error) bool {
	for _, e := range []error{errors.ErrUnsupported, errs.ErrIPCPType, errs.ErrInvalid, errs.ErrExist, context.Canceled} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// Phases are when the steps of the last Layer ended.
type Phases struct {
	Start, Created, Enrolled, Connected, Converged time.Time
}

func (p Phases) String() string {
	return fmt.Sprintf("create %v, enroll %v, connect %v, converge %v",
		p.Created.Sub(p.Start).Round(time.Millisecond), p.Enrolled.Sub(p.Created).Round(time.Millisecond),
		p.Connected.Sub(p.Enrolled).Round(time.Millisecond), p.Converged.Sub(p.Connected).Round(time.Millisecond))
}

// Converge waits until every member of the layer has a route to every
// other member and a directory contact.
func (n *Net) Converge(ctx context.Context, layer string) error {
	for {
		var lag []string
		for _, nd := range n.Nodes {
			info, _, err := nd.N.IPCPDetail(nd.Unicast[layer])
			if err != nil {
				return err
			}
			if len(info.Routes) < len(n.Nodes)-1 || info.Contacts == 0 {
				lag = append(lag, fmt.Sprintf("%s(routes %d, contacts %d)", nd.Name, len(info.Routes), info.Contacts))
			}
		}
		if len(lag) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("layer %s did not converge: %v lag", layer, lag)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Random builds a connected random network of n nodes named n0, n1, ...:
// a random spanning tree plus extra random links, from seed.
func (n *Net) Random(nodes, extra int, seed uint64) {
	r := rand.New(rand.NewPCG(seed, seed^0x5eed))
	for i := range nodes {
		n.AddNode(fmt.Sprintf("n%d", i))
	}
	linked := map[[2]int]bool{}
	link := func(i, j int) {
		if i > j {
			i, j = j, i
		}
		if i == j || linked[[2]int{i, j}] {
			return
		}
		linked[[2]int{i, j}] = true
		n.Connect(n.Nodes[i], n.Nodes[j])
	}
	for i := 1; i < nodes; i++ {
		link(r.IntN(i), i)
	}
	for range extra {
		link(r.IntN(nodes), r.IntN(nodes))
	}
}

// NextHopLink returns the link from's IPCP in layer forwards on towards
// to's, or nil.
func (n *Net) NextHopLink(from, to *Node, layer string) *Link {
	dst, _, err := to.N.IPCPDetail(to.Unicast[layer])
	if err != nil {
		return nil
	}
	info, _, err := from.N.IPCPDetail(from.Unicast[layer])
	if err != nil {
		return nil
	}
	for _, r := range info.Routes {
		if r.Dst != dst.Addr || len(r.NextHops) == 0 {
			continue
		}
		for _, l := range from.links {
			nb, _, err := l.Other(from).N.IPCPDetail(l.Other(from).Unicast[layer])
			if err == nil && nb.Addr == r.NextHops[0] {
				return l
			}
		}
	}
	return nil
}
