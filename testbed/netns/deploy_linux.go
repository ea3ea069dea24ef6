package netns

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/o7s/ouroboros/stack/ctl"
	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/testbed/topo"
)

// Options configure a runtime.
type Options struct {
	Root   string    // lab directories; DefaultRoot when empty
	BinDir string    // where onode is; the directory of the running program when empty
	Out    io.Writer // progress; nil for none
}

func (o *Options) fill() {
	if o.Root == "" {
		o.Root = DefaultRoot
	}
	if o.BinDir == "" {
		if exe, err := os.Executable(); err == nil {
			o.BinDir = filepath.Dir(exe)
		}
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
}

// StepError says where a deploy failed.
type StepError struct {
	Node, Step string
	LogTail    string
	Err        error
}

func (e *StepError) Error() string {
	s := fmt.Sprintf("node %s: %s: %v", e.Node, e.Step, e.Err)
	if e.LogTail != "" {
		s += "\n--- last lines of its log ---\n" + e.LogTail
	}
	return s
}

func (e *StepError) Unwrap() error { return e.Err }

// Deploy makes the topology real. A lab already up and healthy is left as
// it is; on any failure everything the deploy made is removed again and
// the error names the node and the step.
func Deploy(ctx context.Context, t *topo.Topology, o Options) (*Lab, error) {
	o.fill()
	if old, err := LoadLab(o.Root, t.Name); err == nil {
		if err := Healthy(old); err != nil {
			return nil, fmt.Errorf("lab %s exists but is not healthy (%v): run 'otb destroy %s' first", t.Name, err, t.Name)
		}
		fmt.Fprintf(o.Out, "lab %s is up already; nothing to do\n", t.Name)
		return old, nil
	}
	onode := filepath.Join(o.BinDir, "onode")
	if _, err := os.Stat(onode); err != nil {
		return nil, fmt.Errorf("onode not found next to otb (%s): run make build", onode)
	}
	l := plan(t, o.Root)
	if err := l.save(); err != nil { // what we intend, before making it
		return nil, fmt.Errorf("lab directory: %w", err)
	}
	d := &deployer{t: t, l: l, o: o, onode: onode}
	if err := d.run(ctx); err != nil {
		fmt.Fprintf(o.Out, "deploy failed; removing what was made\n")
		Destroy(t.Name, o)
		return nil, err
	}
	return l, l.save()
}

func plan(t *topo.Topology, root string) *Lab {
	l := &Lab{Name: t.Name, File: t.File, Dir: labDir(root, t.Name), Created: time.Now().UTC(), Nodes: map[string]*NodeState{}}
	for _, n := range t.Nodes {
		ns := &NodeState{Name: n.Name, Kind: n.Kind, NS: NSName(t.Name, n.Name)}
		if n.Kind == topo.KindNode {
			ns.Sock = filepath.Join(l.Dir, n.Name, "irm.sock")
			ns.Log = filepath.Join(l.Dir, n.Name, "onode.log")
		}
		l.Nodes[n.Name] = ns
	}
	for _, ly := range t.Layers {
		ls := LayerState{Name: ly.Name, Type: ly.Type, Link: ly.Link, IPCPs: map[string]string{}}
		for _, m := range ly.Members {
			ls.IPCPs[m] = topo.IPCPName(ly.Name, m)
		}
		l.Layers = append(l.Layers, ls)
	}
	return l
}

type deployer struct {
	t     *topo.Topology
	l     *Lab
	o     Options
	onode string
}

func (d *deployer) step(node, what string, err error) error {
	if err == nil {
		return nil
	}
	se := &StepError{Node: node, Step: what, Err: err}
	if ns := d.l.Nodes[node]; ns != nil && ns.Log != "" {
		se.LogTail = tail(ns.Log, 10)
	}
	return se
}

func (d *deployer) run(ctx context.Context) error {
	start := time.Now()
	for _, n := range d.t.Nodes {
		if err := createNS(d.l.Nodes[n.Name].NS, d.t.Name); err != nil {
			return d.step(n.Name, "create namespace", err)
		}
		if n.Kind == topo.KindBridge {
			if err := addBridge(d.t.Name, d.l.Nodes[n.Name].NS); err != nil {
				return d.step(n.Name, "create bridge", err)
			}
		}
	}
	fmt.Fprintf(d.o.Out, "%-10s %d namespaces\n", "netns", len(d.t.Nodes))
	for _, lk := range d.t.Links {
		if err := d.link(lk); err != nil {
			return err
		}
	}
	fmt.Fprintf(d.o.Out, "%-10s %d links\n", "links", len(d.t.Links))
	for _, n := range d.t.Nodes {
		if n.Kind != topo.KindNode {
			continue
		}
		if err := d.startNode(ctx, n); err != nil {
			return err
		}
	}
	for _, ly := range d.t.Layers {
		if err := d.layer(ctx, ly); err != nil {
			return err
		}
	}
	for _, n := range d.t.Nodes {
		if err := d.names(ctx, n); err != nil {
			return err
		}
	}
	fmt.Fprintf(d.o.Out, "lab %s up in %v\n", d.t.Name, time.Since(start).Round(time.Millisecond))
	return nil
}

func (d *deployer) link(lk *topo.Link) error {
	ep := lk.Endpoints
	switch lk.Type {
	case topo.LinkVeth, topo.LinkUDP:
		a := vethEnd{NS: d.l.Nodes[ep[0].Node].NS, Iface: ep[0].Iface, MTU: lk.MTU, Addr: ep[0].Addr}
		b := vethEnd{NS: d.l.Nodes[ep[1].Node].NS, Iface: ep[1].Iface, MTU: lk.MTU, Addr: ep[1].Addr}
		return d.step(ep[0].Node, "link "+lk.ID(), addVeth(d.t.Name, a, b))
	case topo.LinkBridge:
		brNS := d.l.Nodes[lk.Bridge].NS
		for _, e := range ep {
			port := bridgePort(e)
			a := vethEnd{NS: d.l.Nodes[e.Node].NS, Iface: e.Iface, MTU: lk.MTU}
			b := vethEnd{NS: brNS, Iface: port, MTU: lk.MTU}
			if err := addVeth(d.t.Name, a, b); err != nil {
				return d.step(e.Node, "link to LAN "+lk.Bridge, err)
			}
			if err := enslave(brNS, port); err != nil {
				return d.step(e.Node, "join LAN "+lk.Bridge, err)
			}
		}
	}
	return nil
}

// bridgePort names a LAN member's port in the bridge's namespace.
func bridgePort(e topo.Endpoint) string {
	s := e.Node + "-" + e.Iface
	if len(s) > 15 {
		s = s[:15]
	}
	return s
}

func (d *deployer) startNode(ctx context.Context, n *topo.Node) error {
	ns := d.l.Nodes[n.Name]
	if err := os.MkdirAll(filepath.Dir(ns.Sock), 0o755); err != nil {
		return d.step(n.Name, "node directory", err)
	}
	pid, exited, err := startDetached(ns.NS, ns.Log, []string{"OUROBOROS_SOCK=" + ns.Sock}, d.onode, "--sock", ns.Sock)
	if err != nil {
		return d.step(n.Name, "start onode", err)
	}
	ns.PID = pid
	if err := d.l.save(); err != nil {
		return d.step(n.Name, "record onode", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, _, err := call(ctx, ns.Sock, &ctl.Msg{Code: ctl.Code_LIST_IPCPS})
		if err == nil {
			break
		}
		select {
		case <-exited:
			return d.step(n.Name, "start onode", errors.New("onode exited"))
		default:
		}
		if time.Now().After(deadline) {
			return d.step(n.Name, "start onode", fmt.Errorf("no answer on %s within 10s: %w", ns.Sock, err))
		}
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Fprintf(d.o.Out, "%-10s onode pid %d\n", n.Name, pid)
	return nil
}

func call(ctx context.Context, sock string, m *ctl.Msg) (*ctl.Msg, *os.File, error) {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return ctl.Call(cctx, sock, m)
}

func (d *deployer) layer(ctx context.Context, ly *topo.Layer) error {
	typ, err := ipcp.ParseType(ly.Type)
	if err != nil {
		return d.step(ly.Members[0], "layer "+ly.Name, err)
	}
	for _, m := range ly.Members {
		sock := d.l.Nodes[m].Sock
		name := topo.IPCPName(ly.Name, m)
		r, _, err := call(ctx, sock, &ctl.Msg{Code: ctl.Code_CREATE_IPCP, Ipcp: &ctl.IPCPInfo{Type: uint32(typ), Name: name}})
		if err != nil {
			return d.step(m, "create IPCP "+name, err)
		}
		conf := d.ipcpConf(ly, typ, m)
		if _, _, err := call(ctx, sock, &ctl.Msg{Code: ctl.Code_BOOTSTRAP_IPCP, Ipcp: &ctl.IPCPInfo{Id: r.GetIpcp().GetId()}, Conf: conf}); err != nil {
			return d.step(m, "bootstrap IPCP "+name, err)
		}
	}
	fmt.Fprintf(d.o.Out, "%-10s %s on %s: %s\n", "layer", ly.Name, ly.Link, strings.Join(ly.Members, ", "))
	return nil
}

// ipcpConf is the bootstrap configuration of node's IPCP in a shim layer.
// UDP IPCPs learn the names the other members register from the file as
// static directory entries.
func (d *deployer) ipcpConf(ly *topo.Layer, typ ipcp.Type, node string) *ctl.IPCPConfig {
	conf := &ctl.IPCPConfig{Layer: ly.Name, Type: uint32(typ), HashAlgo: uint32(ipcp.DefaultHash)}
	ep := ly.EndpointOf(d.t, node)
	switch typ {
	case ipcp.EthDIX, ipcp.EthLLC:
		conf.Eth = &ctl.EthConfig{Dev: ep.Iface, Ethertype: ipcp.DefaultEthertype}
	case ipcp.UDP4, ipcp.UDP6:
		u := &ctl.UDPConfig{Addr: ep.Addr.Addr().String(), Port: ipcp.DefaultUDPPort, Static: map[string]string{}}
		for _, m := range ly.Members {
			if m == node {
				continue
			}
			for name, layers := range d.t.Node(m).Names {
				for _, l := range layers {
					if l == ly.Name {
						u.Static[name] = ly.EndpointOf(d.t, m).Addr.Addr().String()
					}
				}
			}
		}
		conf.Udp = u
	}
	return conf
}

func (d *deployer) names(ctx context.Context, n *topo.Node) error {
	if len(n.Names) == 0 {
		return nil
	}
	sock := d.l.Nodes[n.Name].Sock
	r, _, err := call(ctx, sock, &ctl.Msg{Code: ctl.Code_LIST_IPCPS})
	if err != nil {
		return d.step(n.Name, "list IPCPs", err)
	}
	for name, layers := range n.Names {
		if _, _, err := call(ctx, sock, &ctl.Msg{Code: ctl.Code_CREATE_NAME, NameInfo: &ctl.NameInfo{Name: name, PolLb: 1}}); err != nil {
			return d.step(n.Name, "create name "+name, err)
		}
		for _, ly := range layers {
			id, ok := ipcpID(r.GetIpcps(), topo.IPCPName(ly, n.Name))
			if !ok {
				return d.step(n.Name, "register "+name, fmt.Errorf("no IPCP of layer %s", ly))
			}
			if _, _, err := call(ctx, sock, &ctl.Msg{Code: ctl.Code_REG_NAME, Name: name, Ipcp: &ctl.IPCPInfo{Id: id}}); err != nil {
				return d.step(n.Name, "register "+name+" in "+ly, err)
			}
		}
		fmt.Fprintf(d.o.Out, "%-10s name %s in %s\n", n.Name, name, strings.Join(layers, ", "))
	}
	return nil
}

func ipcpID(l []*ctl.IPCPInfo, name string) (uint32, bool) {
	for _, e := range l {
		if e.GetName() == name {
			return e.GetId(), true
		}
	}
	return 0, false
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Healthy checks that every node of a lab runs.
func Healthy(l *Lab) error {
	for _, name := range l.NodeNames() {
		ns := l.Nodes[name]
		if _, err := os.Stat(filepath.Join(nsDir, ns.NS)); err != nil {
			return fmt.Errorf("namespace %s is gone", ns.NS)
		}
		if ns.Kind == topo.KindNode && !alive(ns.PID, ns.NS) {
			return fmt.Errorf("onode of %s (pid %d) is not running", name, ns.PID)
		}
	}
	return nil
}
