package netns

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/testbed/topo"
)

// Op is what a deploy step asks a node's onode to do.
type Op string

// Ops, each one control message.
const (
	OpCreate    Op = "create"    // CREATE_IPCP
	OpBootstrap Op = "bootstrap" // BOOTSTRAP_IPCP
	OpName      Op = "name"      // CREATE_NAME
	OpBind      Op = "bind"      // BIND_IPCP
	OpRegister  Op = "register"  // REG_NAME
	OpEnroll    Op = "enroll"    // ENROLL_IPCP
	OpConnect   Op = "connect"   // CONNECT_IPCP
)

// Step is one request a deploy sends to a node once the namespaces, links
// and onodes are up.
type Step struct {
	Op    Op
	Node  string
	Layer string // the layer being brought up; "" for a node's own names
	// IPCP is the IPCP the step acts on; for OpRegister, the IPCP of the
	// layer the name goes into, which is In.
	IPCP string
	In   string
	Type ipcp.Type    // OpCreate, OpBootstrap, OpEnroll
	Name string       // OpName, OpBind, OpRegister
	Dst  string       // OpEnroll, OpConnect: the peer IPCP's name
	Comp string       // OpConnect: mgmt or dt
	QoS  string       // OpConnect dt: the QoS by name (qos.ByName); empty is raw
	Conf *ipcp.Config // OpBootstrap
	// Done is a progress line to print once the step succeeded, if any.
	Done string `json:",omitempty"`
}

func (s Step) String() string {
	switch s.Op {
	case OpCreate:
		return fmt.Sprintf("create IPCP %s (%v)", s.IPCP, s.Type)
	case OpBootstrap:
		return fmt.Sprintf("bootstrap %s in %s (%s)", s.IPCP, s.Layer, confSummary(s.Type, s.Conf))
	case OpName:
		return "create name " + s.Name
	case OpBind:
		return fmt.Sprintf("bind %s to %s", s.Name, s.IPCP)
	case OpRegister:
		return fmt.Sprintf("register %s in %s (%s)", s.Name, s.In, s.IPCP)
	case OpEnroll:
		return fmt.Sprintf("enroll %s via %s", s.IPCP, s.Dst)
	case OpConnect:
		if s.QoS != "" && s.QoS != "raw" {
			return fmt.Sprintf("connect %s to %s (%s, qos %s)", s.IPCP, s.Dst, s.Comp, s.QoS)
		}
		return fmt.Sprintf("connect %s to %s (%s)", s.IPCP, s.Dst, s.Comp)
	}
	return string(s.Op)
}

// Steps lists what a deploy asks the nodes to do, in order: each layer in
// dependency order (a shim layer's IPCPs created and bootstrapped; an upper
// layer's IPCPs created on every member and bound to their own name and
// the layer's, the first member bootstrapping, then each member in
// enrollment order registering both names in its lower layers, enrolling
// through the member before it and making its adjacencies), then the names
// each node registers.
func Steps(t *topo.Topology) []Step {
	var st []Step
	for _, ly := range t.Layers {
		if ly.Upper() {
			st = append(st, upperSteps(t, ly)...)
		} else {
			st = append(st, shimSteps(t, ly)...)
		}
	}
	for _, n := range t.Nodes {
		st = append(st, nameSteps(n)...)
	}
	return st
}

func shimSteps(t *topo.Topology, ly *topo.Layer) []Step {
	typ, _ := ipcp.ParseType(ly.Type)
	var st []Step
	for _, m := range ly.Members {
		p := topo.IPCPName(ly.Name, m)
		st = append(st,
			Step{Op: OpCreate, Node: m, Layer: ly.Name, IPCP: p, Type: typ},
			Step{Op: OpBootstrap, Node: m, Layer: ly.Name, IPCP: p, Type: typ, Conf: shimConf(t, ly, typ, m)})
	}
	st[len(st)-1].Done = fmt.Sprintf("%-10s %s on %s: %s", "layer", ly.Name, ly.Link, strings.Join(ly.Members, ", "))
	return st
}

func upperSteps(t *topo.Topology, ly *topo.Layer) []Step {
	typ, _ := ipcp.ParseType(ly.Type)
	var st []Step
	for _, m := range ly.Members {
		st = append(st, Step{Op: OpCreate, Node: m, Layer: ly.Name, IPCP: topo.IPCPName(ly.Name, m), Type: typ})
	}
	for _, m := range ly.Members {
		p := topo.IPCPName(ly.Name, m)
		for _, name := range []string{p, ly.Name} {
			st = append(st,
				Step{Op: OpName, Node: m, Layer: ly.Name, Name: name},
				Step{Op: OpBind, Node: m, Layer: ly.Name, IPCP: p, Name: name})
		}
	}
	comps := []string{ipcp.CompMgmt, ipcp.CompDT}
	if ly.Type == topo.LayerBroadcast {
		comps = []string{ipcp.CompDT} // no management component
	}
	for _, es := range ly.Steps {
		m, p := es.Node, topo.IPCPName(ly.Name, es.Node)
		if es.Via == "" {
			st = append(st, Step{Op: OpBootstrap, Node: m, Layer: ly.Name, IPCP: p, Type: typ, Conf: upperConf(ly, typ),
				Done: fmt.Sprintf("%-10s bootstrapped %s (%s)", p, ly.Name, ly.Type)})
		}
		for _, lo := range ly.Lower[m] {
			for _, name := range []string{p, ly.Name} {
				st = append(st, Step{Op: OpRegister, Node: m, Layer: ly.Name, IPCP: topo.IPCPName(lo, m), In: lo, Name: name})
			}
		}
		if es.Via == "" {
			continue
		}
		st = append(st, Step{Op: OpEnroll, Node: m, Layer: ly.Name, IPCP: p, Type: typ, Dst: topo.IPCPName(ly.Name, es.Via)})
		for _, peer := range es.Connect {
			for _, c := range comps {
				s := Step{Op: OpConnect, Node: m, Layer: ly.Name, IPCP: p, Dst: topo.IPCPName(ly.Name, peer), Comp: c}
				if c == ipcp.CompDT && ly.Policies != nil {
					s.QoS = ly.Policies.DTQoS
				}
				st = append(st, s)
			}
		}
		var peers []string
		for _, peer := range es.Connect {
			peers = append(peers, topo.IPCPName(ly.Name, peer))
		}
		done := fmt.Sprintf("%-10s enrolled via %s", p, topo.IPCPName(ly.Name, es.Via))
		if len(peers) > 0 {
			done += ", connected to " + strings.Join(peers, ", ")
		}
		st[len(st)-1].Done = done
	}
	return st
}

func nameSteps(n *topo.Node) []Step {
	names := make([]string, 0, len(n.Names))
	for name := range n.Names {
		names = append(names, name)
	}
	slices.Sort(names)
	var st []Step
	for _, name := range names {
		st = append(st, Step{Op: OpName, Node: n.Name, Name: name})
		for _, ly := range n.Names[name] {
			st = append(st, Step{Op: OpRegister, Node: n.Name, IPCP: topo.IPCPName(ly, n.Name), In: ly, Name: name})
		}
		st[len(st)-1].Done = fmt.Sprintf("%-10s name %s in %s", n.Name, name, strings.Join(n.Names[name], ", "))
	}
	return st
}

// shimConf is the bootstrap configuration of node's IPCP in a shim layer.
// A UDP IPCP learns, as static directory entries, every name the other
// member registers in the layer (topo.NamesIn): the file's names, and the
// IPCP and layer names of the layers above.
func shimConf(t *topo.Topology, ly *topo.Layer, typ ipcp.Type, node string) *ipcp.Config {
	conf := &ipcp.Config{Layer: ly.Name, Hash: ipcp.DefaultHash}
	ep := ly.EndpointOf(t, node)
	switch typ {
	case ipcp.EthDIX, ipcp.EthLLC:
		conf.Eth = &ipcp.EthConfig{Dev: ep.Iface, Ethertype: ipcp.DefaultEthertype}
	case ipcp.UDP4, ipcp.UDP6:
		u := &ipcp.UDPConfig{Addr: ep.Addr.Addr(), Port: ipcp.DefaultUDPPort, Static: map[string]netip.Addr{}}
		for _, m := range ly.Members {
			if m == node {
				continue
			}
			for _, name := range t.NamesIn(ly.Name, m) {
				if _, ok := u.Static[name]; !ok { // any member that has it will do
					u.Static[name] = ly.EndpointOf(t, m).Addr.Addr()
				}
			}
		}
		conf.UDP = u
	}
	return conf
}

// hashAlgo maps the file's hash names to the directory hash.
func hashAlgo(s string) ipcp.HashAlgo {
	if h, err := ipcp.ParseHashAlgo(s); err == nil {
		return h
	}
	return ipcp.DefaultHash
}

// upperConf is the bootstrap configuration of an upper layer, which its
// first member hands to every member that enrolls. The file's policies
// were checked against the stack's names when it was loaded.
func upperConf(ly *topo.Layer, typ ipcp.Type) *ipcp.Config {
	conf := &ipcp.Config{Layer: ly.Name, Hash: ipcp.DefaultHash}
	p := ly.Policies
	if typ != ipcp.Unicast || p == nil {
		return conf // broadcast: no options, SHA3-256
	}
	conf.Hash = hashAlgo(p.Hash)
	routing, _ := ipcp.ParseRouting(p.Routing, ipcp.Ours)
	cong, err := ipcp.ParseCongestion(p.CA, ipcp.Ours)
	if err != nil {
		cong = ipcp.CongMBECN
	}
	secs := func(n int) time.Duration { return time.Duration(n) * time.Second }
	conf.Unicast = &ipcp.UnicastConfig{
		AddrSize: 4, EIDSize: 8, MaxTTL: uint8(p.MaxTTL), AddrAuth: ipcp.AddrAuthFlat,
		Routing: routing, TRecalc: secs(p.LSTRecalc), TUpdate: secs(p.LSTUpdate), TTimeo: secs(p.LSTTimeo),
		Dir: ipcp.DirDHT, DHTAlpha: uint32(p.DHTAlpha), DHTK: uint32(p.DHTK),
		TExpire: secs(p.DHTTExpire), TRefresh: secs(p.DHTTRefresh), TReplicate: secs(p.DHTTReplicate),
		Cong: cong,
	}
	return conf
}

// confSummary describes a bootstrap configuration in a few words.
func confSummary(typ ipcp.Type, c *ipcp.Config) string {
	if c == nil {
		return "no configuration"
	}
	switch {
	case c.Eth != nil:
		return fmt.Sprintf("%v on %s", typ, c.Eth.Dev)
	case c.UDP != nil:
		s := fmt.Sprintf("%v on %s", typ, c.UDP.Addr)
		if len(c.UDP.Static) > 0 {
			var e []string
			for name, addr := range c.UDP.Static {
				e = append(e, name+"="+addr.String())
			}
			slices.Sort(e)
			s += ", static " + strings.Join(e, " ")
		}
		return s
	case c.Unicast != nil:
		u := c.Unicast
		return fmt.Sprintf("%v, %v, routing %v, ca %v, ls update/timeo/recalc %d/%d/%d s", typ, c.Hash,
			u.Routing, u.Cong, u.TUpdate/time.Second, u.TTimeo/time.Second, u.TRecalc/time.Second)
	}
	return typ.String()
}
