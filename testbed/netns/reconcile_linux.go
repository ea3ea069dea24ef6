package netns

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/o7s/ouroboros/stack/ctl"
	"github.com/o7s/ouroboros/testbed/docker"
	"github.com/o7s/ouroboros/testbed/topo"
)

// Reconcile: otb deploy of a changed file on a running lab. The lab's
// recorded state (its nodes, links, impairments, tunnels and deploy
// steps) is compared with what the file makes now, and only the
// difference is applied:
//
//   - nodes added or removed (a node whose kind, runtime, image or limits
//     changed is refused: remove it, deploy, add it back);
//   - point-to-point links added or removed, LAN members added or removed,
//     impairment changed (kernel knobs, or a relay's knobs on a link that
//     has a relay; a link that would need a relay now, or no longer, is
//     refused, since a relay cannot be put into a running link);
//   - layers: a layer whose steps only grew (members added, adjacencies
//     added) runs its new steps; a layer added runs all of its steps; a
//     layer removed has its IPCPs destroyed; a layer whose steps changed
//     otherwise (its policies, a member's lower layers, a member removed)
//     is rebuilt: its IPCPs destroyed and all its steps run again, and so
//     is every layer over it;
//   - names registered: added or removed.
//
// Tunnels are refused if they changed.

// Diff is what a reconcile changes.
type Diff struct {
	NodesAdded, NodesRemoved   []string
	LinksAdded, LinksRemoved   []string // link IDs; a LAN member as "LAN:node:iface"
	ImpairChanged              []string
	LayersAdded, LayersRemoved []string
	LayersGrown                []string // new steps only
	LayersRebuilt              []string
	NamesAdded, NamesRemoved   []string // "node:name in layers"
	// Steps to run, in order, and IPCPs to destroy ("node/IPCP") and
	// names to unregister (steps to undo), in order.
	Run        []Step
	Destroy    []Step // the OpCreate steps of the IPCPs to destroy
	Unregister []Step // OpRegister steps to undo (names)
}

// Empty tells whether the diff changes nothing.
func (d *Diff) Empty() bool {
	return len(d.NodesAdded)+len(d.NodesRemoved)+len(d.LinksAdded)+len(d.LinksRemoved)+len(d.ImpairChanged)+
		len(d.LayersAdded)+len(d.LayersRemoved)+len(d.LayersGrown)+len(d.LayersRebuilt)+len(d.NamesAdded)+len(d.NamesRemoved) == 0
}

// Print writes the diff: what changes, and with steps, every step.
func (d *Diff) Print(w io.Writer, steps bool) {
	line := func(what string, l []string) {
		if len(l) > 0 {
			fmt.Fprintf(w, "  %-16s %s\n", what, strings.Join(l, ", "))
		}
	}
	line("nodes added", d.NodesAdded)
	line("nodes removed", d.NodesRemoved)
	line("links added", d.LinksAdded)
	line("links removed", d.LinksRemoved)
	line("impairment", d.ImpairChanged)
	line("layers added", d.LayersAdded)
	line("layers removed", d.LayersRemoved)
	line("layers grown", d.LayersGrown)
	line("layers rebuilt", d.LayersRebuilt)
	line("names added", d.NamesAdded)
	line("names removed", d.NamesRemoved)
	if !steps {
		fmt.Fprintf(w, "  %-16s %d undone, %d run (--dry-run lists them)\n", "steps", len(d.Unregister)+len(d.Destroy), len(d.Run))
		return
	}
	for _, s := range d.Unregister {
		fmt.Fprintf(w, "  undo  %-3s %s\n", s.Node, s)
	}
	for _, s := range d.Destroy {
		fmt.Fprintf(w, "  undo  %-3s destroy IPCP %s\n", s.Node, s.IPCP)
	}
	for _, s := range d.Run {
		fmt.Fprintf(w, "  step  %-3s %s\n", s.Node, s)
	}
}

// stepKey identifies a step (its progress line aside).
func stepKey(s Step) string {
	s.Done = ""
	b, _ := json.Marshal(s)
	return string(b)
}

// linkKey identifies a link's making: a point-to-point link by its type
// and ends; each member of a LAN by its bridge and end.
func linkKeys(ls LinkState) map[string]string {
	out := map[string]string{}
	if ls.Type == topo.LinkBridge {
		for _, e := range ls.Ends {
			out[ls.Bridge+":"+e.Node+":"+e.Iface] = ls.Bridge + ":" + e.Node + ":" + e.Iface
		}
		return out
	}
	b, _ := json.Marshal(struct {
		T     string
		E     []LinkEnd
		MTU   int
		Relay bool
	}{ls.Type, ls.Ends, ls.MTU, ls.Relay != nil})
	out[string(b)] = ls.ID
	return out
}

// PlanReconcile compares a running lab with a topology.
func PlanReconcile(old *Lab, oldSteps []Step, t *topo.Topology, root string) (*Diff, *Lab, error) {
	nl := plan(t, root)
	d := &Diff{}
	var refuse []string
	for _, name := range nl.NodeNames() {
		n, o := nl.Nodes[name], old.Nodes[name]
		if o == nil {
			d.NodesAdded = append(d.NodesAdded, name)
			continue
		}
		if n.Kind != o.Kind || n.Runtime != o.Runtime || n.Image != o.Image || n.CPUs != o.CPUs || n.Memory != o.Memory {
			refuse = append(refuse, fmt.Sprintf("node %s changed its kind, runtime, image or limits, which a running lab does not take: remove it from the file, deploy, then add it back", name))
		}
	}
	for _, name := range old.NodeNames() {
		if nl.Nodes[name] == nil {
			d.NodesRemoved = append(d.NodesRemoved, name)
		}
	}
	// Links.
	oldKeys, newKeys := map[string]string{}, map[string]string{}
	oldLS, newLS := map[string]LinkState{}, map[string]LinkState{}
	for _, ls := range old.Links {
		for k, id := range linkKeys(ls) {
			oldKeys[k], oldLS[k] = id, ls
		}
	}
	for _, ls := range nl.Links {
		for k, id := range linkKeys(ls) {
			newKeys[k], newLS[k] = id, ls
		}
	}
	for _, ls := range nl.Links {
		for k, id := range linkKeys(ls) {
			if _, ok := oldKeys[k]; !ok {
				if o, ok := findLinkState(old.Links, ls.ID); ok && ls.Type != topo.LinkBridge && (o.Relay != nil) != (ls.Relay != nil) {
					refuse = append(refuse, fmt.Sprintf("link %s would need an impairment relay now, or no longer: a relay cannot be put into or taken out of a running link (destroy and deploy)", ls.ID))
					continue
				}
				d.LinksAdded = append(d.LinksAdded, id)
			}
		}
	}
	for _, ls := range old.Links {
		for k, id := range linkKeys(ls) {
			if _, ok := newKeys[k]; !ok {
				d.LinksRemoved = append(d.LinksRemoved, id)
			}
		}
	}
	for k, ls := range newLS {
		if o, ok := oldLS[k]; ok && ls.Type != topo.LinkBridge && !slices.Equal(o.Impair, ls.Impair) {
			d.ImpairChanged = append(d.ImpairChanged, ls.ID)
		}
	}
	slices.Sort(d.ImpairChanged)
	// Tunnels.
	if tunnelSig(old.Tunnels) != tunnelSig(nl.Tunnels) {
		refuse = append(refuse, "the tunnels changed, which a running lab does not take: destroy and deploy")
	}
	if len(refuse) > 0 {
		return nil, nil, errors.New(strings.Join(refuse, "\n"))
	}
	newSteps := Steps(t)
	d.steps(old, nl, oldSteps, newSteps)
	return d, nl, nil
}

func findLinkState(ls []LinkState, id string) (LinkState, bool) {
	for _, l := range ls {
		if l.ID == id {
			return l, true
		}
	}
	return LinkState{}, false
}

func tunnelSig(ts []TunnelState) string {
	var c []TunnelState
	for _, t := range ts {
		t.Ends = slices.Clone(t.Ends)
		for i := range t.Ends {
			t.Ends[i].PID = 0
		}
		c = append(c, t)
	}
	b, _ := json.Marshal(c)
	return string(b)
}

// steps diffs the layers' and the names' steps.
func (d *Diff) steps(old, nl *Lab, oldSteps, newSteps []Step) {
	byLayer := func(st []Step) (map[string][]Step, []string) {
		m := map[string][]Step{}
		var order []string
		for _, s := range st {
			if s.Layer == "" {
				continue
			}
			if _, ok := m[s.Layer]; !ok {
				order = append(order, s.Layer)
			}
			m[s.Layer] = append(m[s.Layer], s)
		}
		return m, order
	}
	oldBy, oldOrder := byLayer(oldSteps)
	newBy, newOrder := byLayer(newSteps)
	lowers := map[string][]string{} // layer -> the layers it runs over (new)
	for _, ls := range nl.Layers {
		for _, lo := range ls.Lower {
			for _, l := range lo {
				if !slices.Contains(lowers[ls.Name], l) {
					lowers[ls.Name] = append(lowers[ls.Name], l)
				}
			}
		}
	}
	gone := func(node string) bool { return nl.Nodes[node] == nil }
	rebuilt := map[string]bool{}
	grown := map[string]bool{}
	for _, name := range newOrder {
		oldSt, ok := oldBy[name]
		if !ok {
			d.LayersAdded = append(d.LayersAdded, name)
			continue
		}
		have := map[string]bool{}
		for _, s := range newBy[name] {
			have[stepKey(s)] = true
		}
		subset := true
		for _, s := range oldSt {
			if !have[stepKey(s)] {
				subset = false
			}
		}
		// A layer over a rebuilt one is rebuilt (newOrder is in
		// dependency order, so its lower layers were decided before it).
		for _, lo := range lowers[name] {
			if rebuilt[lo] {
				subset = false
			}
		}
		switch {
		case !subset:
			rebuilt[name] = true
			d.LayersRebuilt = append(d.LayersRebuilt, name)
		case len(newBy[name]) > len(oldSt):
			grown[name] = true
			d.LayersGrown = append(d.LayersGrown, name)
		}
	}
	for _, name := range oldOrder {
		if _, ok := newBy[name]; !ok {
			d.LayersRemoved = append(d.LayersRemoved, name)
		}
	}
	// IPCPs to destroy: those of removed and rebuilt layers on nodes that
	// stay, upper layers first.
	for i := len(oldOrder) - 1; i >= 0; i-- {
		name := oldOrder[i]
		if _, kept := newBy[name]; kept && !rebuilt[name] {
			continue
		}
		for _, s := range oldBy[name] {
			if s.Op == OpCreate && !gone(s.Node) {
				d.Destroy = append(d.Destroy, s)
			}
		}
	}
	oldKeys := map[string]bool{}
	for _, s := range oldSteps {
		oldKeys[stepKey(s)] = true
	}
	// Names: a node's own registrations (steps without a layer).
	oldNames, newNames := map[string]bool{}, map[string]bool{}
	for _, s := range oldSteps {
		if s.Layer == "" {
			oldNames[stepKey(s)] = true
		}
	}
	for _, s := range newSteps {
		if s.Layer == "" {
			newNames[stepKey(s)] = true
		}
	}
	for _, s := range oldSteps {
		if s.Layer == "" && s.Op == OpRegister && !newNames[stepKey(s)] && !gone(s.Node) {
			d.NamesRemoved = append(d.NamesRemoved, s.Node+":"+s.Name+" in "+s.In)
			if _, kept := newBy[s.In]; kept && !rebuilt[s.In] { // else its IPCP goes
				d.Unregister = append(d.Unregister, s)
			}
		}
	}
	// Steps to run, in the new order.
	for _, s := range newSteps {
		k := stepKey(s)
		switch {
		case s.Layer != "" && (rebuilt[s.Layer] || slices.Contains(d.LayersAdded, s.Layer)):
			d.Run = append(d.Run, s)
		case s.Layer != "" && grown[s.Layer] && !oldKeys[k]:
			d.Run = append(d.Run, s)
		case s.Layer == "" && !oldNames[k]:
			d.Run = append(d.Run, s)
			if s.Op == OpRegister {
				d.NamesAdded = append(d.NamesAdded, s.Node+":"+s.Name+" in "+s.In)
			}
		case s.Layer == "" && s.Op == OpRegister && rebuilt[s.In]: // its IPCP was made again
			d.Run = append(d.Run, s)
		case s.Layer == "" && s.Op == OpName && slices.ContainsFunc(newSteps, func(r Step) bool {
			return r.Layer == "" && r.Op == OpRegister && r.Node == s.Node && r.Name == s.Name && rebuilt[r.In]
		}):
			d.Run = append(d.Run, s) // creating a name again is harmless
		}
	}
}

// reconcile applies a diff to a running lab (the lab's lock held).
func reconcile(ctx context.Context, old *Lab, t *topo.Topology, d *Diff, nl *Lab, o Options) (*Lab, error) {
	start := time.Now()
	eng, err := checkDocker(ctx, t)
	if err != nil {
		return nil, err
	}
	if eng == nil { // docker nodes of the old lab may go
		if eng, err = engine(ctx, old); err != nil {
			return nil, err
		}
	}
	if eng != nil {
		defer eng.Close()
	}
	// The new lab keeps what runs: the PIDs and states of the nodes, the
	// relays and the tunnels that stay.
	for name, n := range nl.Nodes {
		if on := old.Nodes[name]; on != nil {
			n.PID, n.Stopped = on.PID, on.Stopped
		}
	}
	for i := range nl.Links {
		if ol, ok := findLinkState(old.Links, nl.Links[i].ID); ok && ol.Relay != nil && nl.Links[i].Relay != nil {
			nl.Links[i].Relay = ol.Relay
		}
	}
	nl.Tunnels = old.Tunnels
	nl.Created = old.Created
	dep := &deployer{t: t, l: old, o: o, onode: filepath.Join(o.BinDir, "onode"), eng: eng, enrolled: map[string]time.Duration{}}
	ids := map[string]uint32{}
	// Undo: names, then IPCPs (upper layers first).
	for _, s := range d.Unregister {
		if err := dep.undo(ctx, s, ids); err != nil {
			return nil, dep.step(s.Node, "unregister "+s.Name+" from "+s.In, err)
		}
	}
	for _, s := range d.Destroy {
		if err := dep.undo(ctx, s, ids); err != nil {
			return nil, dep.step(s.Node, "destroy IPCP "+s.IPCP, err)
		}
		fmt.Fprintf(o.Out, "%-10s destroyed %s\n", s.Node, s.IPCP)
	}
	// Links removed, then nodes removed.
	for _, id := range d.LinksRemoved {
		if err := old.removeLink(id); err != nil {
			return nil, err
		}
		fmt.Fprintf(o.Out, "%-10s %s removed\n", "link", id)
	}
	for _, name := range d.NodesRemoved {
		if err := removeNode(ctx, eng, old, name); err != nil {
			return nil, err
		}
		fmt.Fprintf(o.Out, "%-10s removed\n", name)
	}
	// Nodes added, links added, impairment, steps.
	dep.l = nl
	for _, n := range t.Nodes {
		if !slices.Contains(d.NodesAdded, n.Name) {
			continue
		}
		if n.Runtime == topo.RuntimeDocker {
			if err := dep.holder(ctx, n); err != nil {
				return nil, err
			}
		} else {
			if err := createNS(nl.Nodes[n.Name].NS, t.Name); err != nil {
				return nil, dep.step(n.Name, "create namespace", err)
			}
			if n.Kind == topo.KindBridge {
				if err := addBridge(t.Name, nl.Nodes[n.Name].NS); err != nil {
					return nil, dep.step(n.Name, "create bridge", err)
				}
			}
		}
		if err := nl.save(); err != nil {
			return nil, err
		}
	}
	for _, lk := range t.Links {
		if lk.Type == topo.LinkBridge {
			for _, e := range lk.Endpoints {
				if slices.Contains(d.LinksAdded, lk.Bridge+":"+e.Node+":"+e.Iface) {
					if err := dep.lanPort(lk, e); err != nil {
						return nil, err
					}
					fmt.Fprintf(o.Out, "%-10s %s:%s joined LAN %s\n", "link", e.Node, e.Iface, lk.Bridge)
				}
			}
			continue
		}
		if slices.Contains(d.LinksAdded, lk.ID()) {
			if err := dep.link(lk); err != nil {
				return nil, err
			}
			fmt.Fprintf(o.Out, "%-10s %s added\n", "link", lk.ID())
		}
	}
	for i, lk := range t.Links {
		if slices.Contains(d.LinksAdded, lk.ID()) && lk.Impaired() && nl.Links[i].Relay == nil {
			if err := applyImpair(t.Name, nl.Links[i], lk.Impair); err != nil {
				return nil, dep.step(lk.Endpoints[0].Node, "impair link "+lk.ID(), err)
			}
			continue
		}
		if !slices.Contains(d.ImpairChanged, lk.ID()) || slices.Contains(d.LinksAdded, lk.ID()) {
			continue
		}
		ls := nl.Links[i]
		var err error
		if ls.Relay != nil {
			err = setRelay(ls, lk.Impair)
		} else {
			dirs := lk.Impair
			if len(dirs) != 2 {
				dirs = []topo.Impairment{{}, {}}
			}
			err = applyImpair(t.Name, ls, dirs)
		}
		if err != nil {
			return nil, dep.step(lk.Endpoints[0].Node, "impair link "+lk.ID(), err)
		}
		fmt.Fprintf(o.Out, "%-10s %s impairment changed\n", "impair", lk.ID())
	}
	if err := nl.save(); err != nil {
		return nil, err
	}
	for _, n := range t.Nodes {
		if n.Kind == topo.KindNode && slices.Contains(d.NodesAdded, n.Name) {
			if err := dep.startNode(ctx, n); err != nil {
				return nil, err
			}
		}
	}
	for _, s := range d.Run {
		if err := dep.replay(ctx, s, ids); err != nil {
			return nil, dep.step(s.Node, s.String(), err)
		}
		if s.Done != "" {
			fmt.Fprintln(o.Out, s.Done)
		}
	}
	if err := saveSteps(nl.Dir, Steps(t)); err != nil {
		return nil, err
	}
	if err := nl.save(); err != nil {
		return nil, err
	}
	if !o.NoWait {
		took, err := WaitReady(ctx, t.Name, o, ReadyTimeout)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(o.Out, "%-10s every layer converged (%v)\n", "ready", took.Round(time.Millisecond))
	}
	fmt.Fprintf(o.Out, "lab %s changed in %v\n", t.Name, time.Since(start).Round(time.Millisecond))
	return nl, nil
}

// undo unregisters a name (an OpRegister step) or destroys an IPCP (an
// OpCreate step); already gone is fine.
func (d *deployer) undo(ctx context.Context, s Step, ids map[string]uint32) error {
	n := d.l.Nodes[s.Node]
	if n == nil || n.Sock == "" || n.Stopped {
		return nil
	}
	qctx, cancel := quick(ctx)
	defer cancel()
	c := ctl.NewClient(n.Sock)
	ps, err := c.IPCPs(qctx)
	if err != nil {
		return err
	}
	for _, p := range ps {
		if p.GetName() != s.IPCP {
			continue
		}
		if s.Op == OpRegister {
			c.Unregister(qctx, s.Name, p.GetId()) // not registered any more is fine
			return nil
		}
		delete(ids, s.Node+"/"+s.IPCP)
		return c.DestroyIPCP(qctx, p.GetId())
	}
	return nil
}

// removeLink deletes a link's interfaces: a point-to-point link's (both
// ends go with one), or a LAN member's ("LAN:node:iface") end and port.
func (l *Lab) removeLink(id string) error {
	if _, end, ok := strings.Cut(id, ":"); ok && !strings.Contains(id, "--") {
		node, iface, _ := strings.Cut(end, ":")
		if n := l.Nodes[node]; n != nil {
			return delIface(n.NS, iface)
		}
		return nil
	}
	ls, ok := findLinkState(l.Links, id)
	if !ok {
		return nil
	}
	if ls.Relay != nil { // the relay's namespace holds its ends
		stopNS(ls.Relay.NS, 3*time.Second)
		deleteNS(ls.Relay.NS)
	}
	for _, e := range ls.Ends {
		if err := delIface(e.NS, e.Iface); err != nil {
			return err
		}
	}
	return nil
}

// delIface deletes an interface in a namespace (a veth takes its peer with
// it); gone already is fine.
func delIface(ns, iface string) error {
	if _, err := os.Stat(filepath.Join(nsDir, ns)); err != nil {
		return nil
	}
	return withHandle(ns, func(h *netlink.Handle) error {
		lk, err := h.LinkByName(iface)
		if err != nil {
			return nil
		}
		if err := h.LinkDel(lk); err != nil {
			return fmt.Errorf("delete %s in %s: %w", iface, ns, err)
		}
		return nil
	})
}

// removeNode stops a node (its onode, or its containers) and deletes its
// namespace.
func removeNode(ctx context.Context, eng *docker.Engine, l *Lab, name string) error {
	n := l.Nodes[name]
	if n.Runtime == topo.RuntimeDocker && eng != nil {
		for _, c := range []string{n.Container, n.Holder} {
			if err := eng.Remove(ctx, c); err != nil {
				return err
			}
		}
	}
	stopRecorded(n)
	stopNS(n.NS, 3*time.Second)
	removeTables(n.NS, l.Name)
	return deleteNS(n.NS)
}

// lanPort joins a member to a running LAN.
func (d *deployer) lanPort(lk *topo.Link, e topo.Endpoint) error {
	brNS := d.l.Nodes[lk.Bridge].NS
	port := bridgePort(e)
	a := vethEnd{NS: d.l.Nodes[e.Node].NS, Iface: e.Iface, MTU: lk.MTU}
	b := vethEnd{NS: brNS, Iface: port, MTU: lk.MTU}
	if err := addVeth(d.t.Name, a, b); err != nil {
		return d.step(e.Node, "link to LAN "+lk.Bridge, err)
	}
	if err := enslave(brNS, port); err != nil {
		return d.step(e.Node, "join LAN "+lk.Bridge, err)
	}
	return nil
}

// ReconcilePlan is what otb deploy --dry-run prints for a lab that is up:
// the difference a deploy would apply, or nil if the lab is not up.
func ReconcilePlan(ctx context.Context, t *topo.Topology, o Options) (*Diff, error) {
	o.fill()
	old, err := LoadLab(o.Root, t.Name)
	if err != nil {
		return nil, nil
	}
	oldSteps, err := old.deploySteps(ctx)
	if err != nil {
		return nil, err
	}
	d, _, err := PlanReconcile(old, oldSteps, t, o.Root)
	return d, err
}
