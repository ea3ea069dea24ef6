package netns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/o7s/ouroboros/testbed/docker"
	"github.com/o7s/ouroboros/testbed/swarm"
	"github.com/o7s/ouroboros/testbed/topo"
)

// Swarm labs (runtime: swarm). Each node is a docker node (a holder and a
// node container, docker_linux.go) on the engine of its host. The holders
// are attached to one attachable overlay network of the lab's, which the
// swarm carries between engines (VXLAN); each link of the topology is then
// a VXLAN segment of its own between the holders' addresses on that
// overlay, made inside the holders' namespaces under the link's interface
// names: a point-to-point link has the other end as its remote, a LAN
// floods to every other member. So a link is a real Ethernet segment
// across hosts, broadcast included (Docker's overlay networks do not flood
// broadcast frames, which the Ethernet shims need), and the ends look and
// behave as in the other runtimes: eth-dix, eth-llc, udp4 and udp6 layers,
// link state, blackholes and kernel impairment work unchanged.
//
// otb drives a node through its namespace and its control socket, which it
// reaches on this machine: the engines of a swarm lab must run here (as
// those of otb swarm up do); a node whose container is not a process of
// this machine is refused with what to do.

// underlayIface is the holder's interface on the lab's overlay network.
const underlayIface = "o7s-ul"

// vxlanOverhead is what a VXLAN segment adds to each frame (outer IPv4,
// UDP and VXLAN headers and the inner Ethernet header).
const vxlanOverhead = 50

// SwarmState is what a swarm lab made beyond its nodes.
type SwarmState struct {
	Network string       `json:"network"` // the overlay network's name
	Manager string       `json:"manager"` // the host it was created through
	MTU     int          `json:"mtu"`
	Hosts   []*topo.Host `json:"hosts"`
}

// InContainer tells whether a node runs in a container (docker or swarm).
func (n *NodeState) InContainer() bool {
	return (n.Runtime == topo.RuntimeDocker || n.Runtime == topo.RuntimeSwarm) && n.Container != ""
}

// engines are the connections to the engines of a lab's container nodes,
// made when first needed, one per engine.
type engines struct {
	l *Lab
	m map[string]*docker.Engine // by address; "" the machine's
}

func (l *Lab) engines() *engines { return &engines{l: l, m: map[string]*docker.Engine{}} }

// host is the recorded host of a swarm lab by name.
func (l *Lab) host(name string) *topo.Host {
	if l.Swarm == nil {
		return nil
	}
	for _, h := range l.Swarm.Hosts {
		if h.Name == name {
			return h
		}
	}
	return nil
}

// at connects to the engine at a host (nil: the machine's).
func (es *engines) at(ctx context.Context, h *topo.Host) (*docker.Engine, error) {
	addr, tls := "", docker.TLS{}
	if h != nil {
		addr, tls = h.Engine, docker.TLS{CA: h.CA, Cert: h.Cert, Key: h.Key}
	}
	if e := es.m[addr]; e != nil {
		return e, nil
	}
	e, err := docker.ConnectHost(ctx, addr, tls)
	if err != nil {
		if h != nil {
			return nil, fmt.Errorf("host %s: %w", h.Name, err)
		}
		return nil, err
	}
	es.m[addr] = e
	return e, nil
}

// of connects to the engine a node runs on.
func (es *engines) of(ctx context.Context, node string) (*docker.Engine, error) {
	n := es.l.Nodes[node]
	if n == nil || n.Host == "" {
		return es.at(ctx, nil)
	}
	h := es.l.host(n.Host)
	if h == nil {
		return nil, fmt.Errorf("node %s is on host %s, which the lab did not record", node, n.Host)
	}
	return es.at(ctx, h)
}

func (es *engines) close() {
	for _, e := range es.m {
		e.Close()
	}
	clear(es.m)
}

// checkSwarm reaches every host of a swarm lab before anything is made:
// each must answer, be an active member of one swarm, and have the images
// of the nodes placed on it; one of them must be a manager.
func checkSwarm(ctx context.Context, t *topo.Topology, es *engines) (manager *topo.Host, err error) {
	if t.Runtime != topo.RuntimeSwarm {
		return nil, nil
	}
	for _, h := range t.Hosts {
		e, err := es.at(ctx, h)
		if err != nil {
			return nil, err
		}
		st, err := e.Swarm(ctx)
		if err != nil {
			return nil, err
		}
		if !st.Active {
			return nil, fmt.Errorf("host %s (%s) is not in a swarm (its state: %s): make one with otb swarm up, or join it to yours", h.Name, h.Engine, st.State)
		}
		if st.Manager && manager == nil {
			manager = h
		}
		var images []string
		for _, n := range t.Nodes {
			if n.Host == h.Name {
				im := n.Image
				if im == "" {
					im = docker.DefaultImage()
				}
				if !slices.Contains(images, im) {
					images = append(images, im)
				}
			}
		}
		if len(images) > 0 && !slices.Contains(images, docker.DefaultImage()) {
			images = append(images, docker.DefaultImage()) // the holders'
		}
		for _, im := range images {
			if err := e.CheckImage(ctx, im); err != nil {
				if errors.Is(err, docker.ErrNoImage) {
					return nil, fmt.Errorf("host %s: %w (with no registry, otb image, or otb swarm load, copies it into a swarm's engines)", h.Name, err)
				}
				return nil, err
			}
		}
	}
	if manager == nil {
		return nil, fmt.Errorf("none of the hosts (%s) is a manager of its swarm: name a manager among hosts:, it makes the lab's network", hostNames(t.Hosts))
	}
	for _, lk := range t.Links {
		if NeedsRelay(lk) {
			return nil, fmt.Errorf("link %s asks for impairment that needs a relay (delay, jitter, reordering, corruption or burst loss), which a swarm lab cannot put between hosts yet; keep to loss:, duplicate: and rate: on swarm links (the kernel's, at the ends), or deploy with runtime netns or docker", lk.ID())
		}
	}
	return manager, nil
}

func hostNames(hs []*topo.Host) string {
	var s []string
	for _, h := range hs {
		s = append(s, h.Name)
	}
	return strings.Join(s, ", ")
}

// swarmNetwork creates the lab's overlay network through the manager.
func (d *deployer) swarmNetwork(ctx context.Context, manager *topo.Host) error {
	mtu := 1500
	for _, lk := range d.t.Links {
		mtu = max(mtu, lk.MTU)
	}
	mtu += vxlanOverhead
	e, err := d.engs.at(ctx, manager)
	if err != nil {
		return err
	}
	d.l.Swarm = &SwarmState{Network: docker.OverlayName(d.t.Name), Manager: manager.Name, MTU: mtu, Hosts: d.t.Hosts}
	if err := d.l.save(); err != nil { // before it is made: destroy finds it
		return err
	}
	if _, err := e.CreateOverlay(ctx, d.t.Name, mtu); err != nil {
		return err
	}
	fmt.Fprintf(d.o.Out, "%-10s overlay network %s (MTU %d) through %s, %d hosts\n", "swarm", d.l.Swarm.Network, mtu, manager.Name, len(d.t.Hosts))
	return nil
}

// swarmHolder starts a swarm node's holder on its host's engine, attached
// to the lab's overlay, binds its namespace here, and names its overlay
// interface underlayIface.
func (d *deployer) swarmHolder(ctx context.Context, n *topo.Node) error {
	ns := d.l.Nodes[n.Name]
	e, err := d.engs.of(ctx, n.Name)
	if err != nil {
		return d.step(n.Name, "reach its host", err)
	}
	id, pid, err := e.RunHolderOn(ctx, d.t.Name, n.Name, docker.DefaultImage(), d.l.Swarm.Network)
	if err != nil {
		return d.step(n.Name, "start holder container on host "+n.Host, err)
	}
	if !localProcess(pid, id, "opause") {
		return d.step(n.Name, "attach namespace", fmt.Errorf("the holder runs on host %s (%s), whose processes this machine does not see (pid %d is not its opause): otb drives a node through its namespace and control socket, so a swarm lab's engines must run on this machine for now (otb swarm up makes such engines)", n.Host, e.Host(), pid))
	}
	if err := attachNS(ns.NS, pid, d.t.Name); err != nil {
		return d.step(n.Name, "attach namespace", err)
	}
	at, err := e.NetworkAttachment(ctx, id, d.l.Swarm.Network)
	if err != nil {
		return d.step(n.Name, "overlay address", err)
	}
	ns.Underlay = at.Addr.String()
	err = withHandle(ns.NS, func(h *netlink.Handle) error {
		links, err := h.LinkList()
		if err != nil {
			return err
		}
		for _, l := range links {
			if l.Attrs().HardwareAddr.String() != at.MAC {
				continue
			}
			if err := h.LinkSetDown(l); err != nil {
				return err
			}
			if err := h.LinkSetName(l, underlayIface); err != nil {
				return fmt.Errorf("rename %s to %s: %w", l.Attrs().Name, underlayIface, err)
			}
			return h.LinkSetUp(l)
		}
		return fmt.Errorf("no interface with the overlay's MAC %s", at.MAC)
	})
	return d.step(n.Name, "overlay interface", err)
}

// localProcess tells whether pid is a process of this machine: the
// container id's process (its cgroup names the id), or one running prog
// (its command line is empty for a moment while it execs: asked again for
// up to 2 s).
func localProcess(pid int, id, prog string) bool {
	for deadline := time.Now().Add(2 * time.Second); ; {
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid)); err == nil && strings.Contains(string(b), id) {
			return true
		}
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil && strings.Contains(string(b), prog) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// swarmLink makes a link of a swarm lab: a VXLAN device at each end, in
// the end's namespace under the link's interface name, its VNI the link's
// number in the file.
func (d *deployer) swarmLink(lk *topo.Link, i int) error {
	vni := i + 1
	mtu := lk.MTU
	if mtu == 0 {
		mtu = 1500
	}
	for _, e := range lk.Endpoints {
		var peers []netip.Addr
		for _, o := range lk.Endpoints {
			if o.Node != e.Node || o.Iface != e.Iface {
				a, err := netip.ParseAddr(d.l.Nodes[o.Node].Underlay)
				if err != nil {
					return d.step(o.Node, "link "+lk.ID(), fmt.Errorf("no overlay address recorded"))
				}
				peers = append(peers, a)
			}
		}
		ns := d.l.Nodes[e.Node]
		err := addVXLAN(ns.NS, e.Iface, vni, ns.Underlay, peers, mtu)
		if err == nil {
			err = setupIface(d.t.Name, vethEnd{NS: ns.NS, Iface: e.Iface, MTU: mtu, Addr: e.Addr})
		}
		if err != nil {
			return d.step(e.Node, "link "+lk.ID(), err)
		}
	}
	return nil
}

// addVXLAN makes a VXLAN device over underlayIface that sends what it
// floods (broadcast, and frames to addresses not learnt yet) to every
// peer, and learns the peers' MACs from what they send.
func addVXLAN(ns, name string, vni int, local string, peers []netip.Addr, mtu int) error {
	src := net.ParseIP(local)
	return withHandle(ns, func(h *netlink.Handle) error {
		ul, err := h.LinkByName(underlayIface)
		if err != nil {
			return fmt.Errorf("%s in %s: %w", underlayIface, ns, err)
		}
		v := &netlink.Vxlan{
			LinkAttrs:    netlink.LinkAttrs{Name: name, MTU: mtu},
			VxlanId:      vni,
			VtepDevIndex: ul.Attrs().Index,
			SrcAddr:      src,
			Port:         4789,
			Learning:     true,
		}
		if len(peers) == 1 {
			v.Group = peers[0].AsSlice()
		}
		if err := h.LinkAdd(v); err != nil {
			return fmt.Errorf("vxlan %s (VNI %d) in %s: %w", name, vni, ns, err)
		}
		if len(peers) == 1 {
			return nil
		}
		l, err := h.LinkByName(name)
		if err != nil {
			return err
		}
		zero := net.HardwareAddr{0, 0, 0, 0, 0, 0}
		for _, p := range peers { // head-end replication of what floods
			fdb := &netlink.Neigh{
				LinkIndex: l.Attrs().Index, Family: unix.AF_BRIDGE, State: netlink.NUD_PERMANENT | netlink.NUD_NOARP,
				Flags: netlink.NTF_SELF, IP: p.AsSlice(), HardwareAddr: zero,
			}
			if err := h.NeighAppend(fdb); err != nil {
				return fmt.Errorf("vxlan %s in %s: flood to %v: %w", name, ns, p, err)
			}
		}
		return nil
	})
}

// removeSwarmNetwork removes a swarm lab's overlay network (through any
// engine that still has it), trying again while the engines detach the
// holders.
func removeSwarmNetwork(ctx context.Context, l *Lab, es *engines) error {
	hosts := swarmEngines() // a lab whose record is gone
	if l.Swarm != nil {
		hosts = l.Swarm.Hosts
	}
	var last error
	for deadline := time.Now().Add(20 * time.Second); ; {
		left := 0
		last = nil
		for _, h := range hosts {
			e, err := es.at(ctx, h)
			if err != nil {
				continue // a host that is down: another may remove it
			}
			nets, err := e.LabNetworks(ctx, l.Name)
			if err != nil {
				last = err
				continue
			}
			for _, n := range nets {
				if err := e.RemoveNetwork(ctx, n.ID); err != nil {
					last = err
					left++
				}
			}
		}
		if left == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	return last
}

// engineGone tells whether a host's engine is gone for good, not down: a
// unix socket that is not there and that no swarm made here records (one
// that a swarm records is an engine stopped, which may start again).
func engineGone(h *topo.Host) bool {
	path, ok := strings.CutPrefix(h.Engine, "unix://")
	if !ok {
		return false
	}
	if _, err := os.Stat(path); err == nil {
		return false
	}
	for _, name := range swarm.List() {
		if s, err := swarm.Load(name); err == nil {
			for _, e := range s.Engines {
				if e.Sock == path {
					return false
				}
			}
		}
	}
	return true
}

// swarmEngines are the engines of the swarms made on this machine that
// run, for gc to find labs' containers in.
func swarmEngines() []*topo.Host {
	var hs []*topo.Host
	for _, name := range swarm.List() {
		s, err := swarm.Load(name)
		if err != nil {
			continue
		}
		for _, e := range s.Engines {
			if _, err := os.Stat(e.Sock); err == nil && !e.Stopped {
				hs = append(hs, &topo.Host{Name: name + "-" + e.Name, Engine: e.Host()})
			}
		}
	}
	return hs
}

// SwarmHosts are the engines of a swarm made by otb swarm up, as a
// topology's hosts (otb deploy --swarm).
func SwarmHosts(name string) ([]*topo.Host, error) {
	s, err := swarm.Load(name)
	if err != nil {
		return nil, err
	}
	var hs []*topo.Host
	for _, h := range s.Hosts() {
		hs = append(hs, &topo.Host{Name: h.Name, Engine: h.Engine})
	}
	return hs, nil
}
