package otb

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/o7s/ouroboros/stack/ctl"
	"github.com/o7s/ouroboros/stack/qos"
	"github.com/o7s/ouroboros/testbed/docker"
	"github.com/o7s/ouroboros/testbed/netns"
	"github.com/o7s/ouroboros/testbed/relay"
	"github.com/o7s/ouroboros/testbed/topo"
)

// printPlan prints what deploy would make, step by step.
func printPlan(w io.Writer, t *topo.Topology) error {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "lab %s (%s)\n", t.Name, t.File)
	for _, n := range t.Nodes {
		where := "netns " + netns.NSName(t.Name, n.Name)
		if n.Runtime == topo.RuntimeSwarm && n.Kind == topo.KindBridge {
			where = "no namespace: the LAN is a VXLAN segment among its members"
		} else if n.Runtime == topo.RuntimeDocker || n.Runtime == topo.RuntimeSwarm {
			where = "container " + docker.NodeName(t.Name, n.Name) + " (" + dockerImage(n) + ")"
			if n.Host != "" {
				where += " on host " + n.Host
			}
			if n.CPUs > 0 {
				where += fmt.Sprintf(", cpus %g", n.CPUs)
			}
			if n.Memory > 0 {
				where += fmt.Sprintf(", memory %dMiB", n.Memory>>20)
			}
		}
		if n.Foreign() {
			where += ", impl " + n.Profile.Describe()
		}
		fmt.Fprintf(tw, "node\t%s\t%s\t%s\n", n.Name, n.Kind, where)
	}
	for _, l := range t.Links {
		var eps []string
		for _, e := range l.Endpoints {
			s := e.Node + ":" + e.Iface
			if e.Addr.IsValid() {
				s += " " + e.Addr.String()
			}
			eps = append(eps, s)
		}
		imp := ""
		if l.Impaired() {
			var dirs []string
			for i, im := range l.Impair {
				dirs = append(dirs, topo.Direction(l.Endpoints[i].Node, l.Endpoints[1-i].Node)+" "+im.String())
			}
			imp = "\timpair " + strings.Join(dirs, "; ")
		}
		if netns.NeedsRelay(l) {
			imp += " (through an impairment relay)"
		}
		fmt.Fprintf(tw, "link\t%s\t%s\t%s%s\n", l.ID(), l.Type, strings.Join(eps, ", "), imp)
	}
	for _, ly := range t.Layers {
		if !ly.Upper() {
			fmt.Fprintf(tw, "layer\t%s\t%s\ton %s: %s\n", ly.Name, ly.Type, ly.Link, strings.Join(ly.Members, ", "))
			continue
		}
		fmt.Fprintf(tw, "layer\t%s\t%s\tover %s: %s; enrollment %s, connect %s\n", ly.Name, ly.Type,
			strings.Join(ly.LowerLayers(), ", "), strings.Join(ly.Members, ", "), ly.Enrollment, ly.Connect)
	}
	for _, n := range t.Nodes {
		for _, iface := range slices.Sorted(maps.Keys(n.Addrs)) {
			var as []string
			for _, a := range n.Addrs[iface] {
				as = append(as, a.String())
			}
			fmt.Fprintf(tw, "ip	%s:%s		%s\n", n.Name, iface, strings.Join(as, ", "))
		}
		for _, r := range n.Routes {
			how := ""
			if r.Implied {
				how = " (for a tunnel)"
			}
			fmt.Fprintf(tw, "route	%s		%s%s\n", n.Name, r, how)
		}
	}
	for _, tn := range t.Tunnels {
		fmt.Fprintf(tw, "tunnel	%s	%s	over %s, qos %s: server %s on %s, client %s on %s\n", tn.Name, tn.Mode, tn.Layer, tn.QoS,
			tn.Server.Node, tn.Server.LAN, tn.Client.Node, tn.Client.LAN)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nonce namespaces, links and onodes are up, each node's onode is asked to:\n")
	tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	for i, s := range netns.Steps(t) {
		fmt.Fprintf(tw, "step\t%d\t%s\t%s\n", i+1, s.Node, s)
	}
	if err := tw.Flush(); err != nil || len(t.Tunnels) == 0 {
		return err
	}
	fmt.Fprintf(w, "\nonce every layer is ready, each tunnel's gateways run ovpn (the server bound to the tunnel's name):\n")
	for _, ts := range netns.TunnelStates(t, "") {
		for _, e := range ts.Ends {
			fmt.Fprintf(w, "ovpn  %-7s %-4s ovpn %s\n", e.Role, e.Node, strings.Join(e.Argv, " "))
		}
	}
	return nil
}

func printReport(w io.Writer, r *netns.Report) error {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "lab %s (%s)\n\nNODE\tKIND\tNETNS\tONODE\tIPCPS\tNAMES\tFLOWS\n", r.Lab, r.File)
	for _, n := range r.Nodes {
		state := "-"
		if n.Kind == topo.KindNode {
			state = fmt.Sprintf("pid %d", n.PID)
			switch {
			case n.Stopped:
				state = "stopped"
			case !n.Up:
				state += " DOWN"
			}
		}
		var ipcps, names []string
		for _, p := range n.IPCPs {
			ipcps = append(ipcps, p.GetName())
		}
		for _, nm := range n.Names {
			names = append(names, nm.GetName())
		}
		if n.Container != "" {
			state += " in " + n.Container
		}
		if n.Host != "" {
			state += " on host " + n.Host
			if n.Error != "" && n.Impl == "" {
				state += " ERROR: " + n.Error
			}
		}
		if n.Impl != "" {
			state += " (impl " + n.Impl + ")"
			if n.Error != "" {
				state += " ERROR: " + n.Error
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\n", n.Name, n.Kind, n.NS, state, strings.Join(ipcps, ","), strings.Join(names, ","), len(n.Flows))
	}
	var containers []string
	swarm := false
	for _, n := range r.Nodes {
		if n.Container != "" {
			containers = append(containers, n.Name+" "+n.Image)
		}
		swarm = swarm || n.Host != ""
	}
	if len(containers) > 0 && swarm {
		fmt.Fprintf(tw, "\ncontainers (swarm runtime, each on its host's engine): %s; their logs: otb logs NODE\n", strings.Join(containers, ", "))
	} else if len(containers) > 0 {
		fmt.Fprintf(tw, "\ncontainers (docker runtime): %s; their logs: otb logs NODE or docker logs CONTAINER\n", strings.Join(containers, ", "))
	}
	for _, n := range r.Nodes {
		if n.Status != "" {
			fmt.Fprintf(tw, "\n%s (impl %s, not inspected by otb; its status command says):\n%s\n", n.Name, n.Impl, n.Status)
		}
	}
	if len(r.Links) > 0 {
		fmt.Fprintf(tw, "\nLINK\tTYPE\tIMPAIRMENT\n")
		for _, l := range r.Links {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", l.ID, l.Type, impairment(l))
		}
	}
	fmt.Fprintf(tw, "\nLAYER\tTYPE\tON\tIPCPS\n")
	for _, l := range r.Layers {
		var ps []string
		for _, node := range slices.SortedFunc(maps.Keys(l.IPCPs), topo.CompareNames) {
			ps = append(ps, node+"="+l.IPCPs[node])
		}
		on := l.Link
		if on == "" {
			on = "over " + strings.Join(lowerOf(l.LayerState), ",")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", l.Name, l.Type, on, strings.Join(ps, " "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, l := range r.Layers {
		if len(l.Status) > 0 {
			printStatus(w, l)
		}
	}
	return printTunnels(w, r.Tunnels)
}

// printTunnels prints each tunnel end: its ovpn and its device.
func printTunnels(w io.Writer, ts []netns.TunnelReport) error {
	if len(ts) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "\nTUNNEL\tMODE\tEND\tNODE\tLAN\tOVPN\tDEVICE\n")
	for _, t := range ts {
		for i, e := range t.Ends {
			state := fmt.Sprintf("pid %d", e.PID)
			if !t.Up[i] {
				state += " DOWN"
			}
			dev := e.Dev
			if !t.DevUp[i] {
				dev += " (none yet)"
			}
			if e.Bridge != "" {
				dev += " in " + e.Bridge
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.Name, t.Mode, e.Role, e.Node, e.LAN+" ("+e.Iface+")", state, dev)
		}
	}
	return tw.Flush()
}

// printStatus prints each member's IPCP in an upper layer: neighbours and
// next hops by IPCP name where the address is a member's.
func printStatus(w io.Writer, l netns.LayerReport) {
	name := map[string]string{}
	for _, st := range l.Status {
		if st.Addr != "" {
			name[st.Addr] = st.IPCP
		}
	}
	who := func(addr string) string {
		if n, ok := name[addr]; ok {
			return n
		}
		return addr
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "\n%s (%s)\nIPCP\tSTATE\tADDR\tNEIGHBOURS\tROUTES\tNAMES\tFLOWS\n", l.Name, l.Type)
	for _, st := range l.Status {
		state := st.State
		if st.Impl != "" {
			state += " (" + st.Impl + ", not asked)"
		}
		if !st.Enrolled && st.State != netns.StateMissing {
			state += " NOT ENROLLED"
			if st.Layer != "" && st.Layer != l.Name {
				state += " (in " + st.Layer + ")"
			}
		}
		if st.Error != "" {
			state += " ERROR: " + st.Error
		}
		nbs := map[string][]string{}
		var order []string
		for _, nb := range st.Neighbours {
			n := who(nb.GetAddr())
			if _, ok := nbs[n]; !ok {
				order = append(order, n)
			}
			c := nb.GetComp()
			if q := nb.GetCube(); q != "" && q != qos.CubeBE.String() {
				c += " " + q
			}
			if !nb.GetUp() {
				c += " down"
			}
			nbs[n] = append(nbs[n], c)
		}
		var nb []string
		for _, n := range order {
			nb = append(nb, n+" ("+strings.Join(nbs[n], ",")+")")
		}
		var routes []string
		rts := slices.Clone(st.Routes)
		slices.SortFunc(rts, func(a, b *ctl.Route) int { return topo.CompareNames(who(a.GetDst()), who(b.GetDst())) })
		for _, rt := range rts {
			var hops []string
			for _, h := range rt.GetNextHops() {
				hops = append(hops, who(h))
			}
			routes = append(routes, who(rt.GetDst())+" via "+strings.Join(hops, "|"))
		}
		names := strings.Join(st.Names, ",")
		if st.Unnamed > 0 {
			names += fmt.Sprintf(" +%d unnamed", st.Unnamed)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\n", st.IPCP, state, dash(st.Addr), dash(strings.Join(nb, " ")),
			dash(strings.Join(routes, "; ")), dash(names), st.Flows)
	}
	tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func lowerOf(ls netns.LayerState) []string {
	var l []string
	for _, m := range slices.SortedFunc(maps.Keys(ls.Lower), topo.CompareNames) {
		for _, lo := range ls.Lower[m] {
			if !slices.Contains(l, lo) {
				l = append(l, lo)
			}
		}
	}
	return l
}

// impairment sums up a link's impairment both ways: "none", or
// "a->b loss 20%; b->a none".
func impairment(l netns.LinkReport) string {
	if l.Error != "" {
		return "? (" + l.Error + ")"
	}
	if len(l.Blackhole) > 0 {
		return "BLACKHOLE at " + strings.Join(l.Blackhole, ", ")
	}
	if len(l.Directions) == 0 {
		return "-"
	}
	var dirs []string
	none := true
	for _, d := range l.Directions {
		dirs = append(dirs, d.Dir+" "+d.Impair.String())
		none = none && d.Impair.IsZero()
	}
	if none {
		return "none"
	}
	return strings.Join(dirs, "; ")
}

// printLinks prints links as otb link show does: each way across a
// point-to-point link with its impairment and counters.
func printLinks(w io.Writer, rs []netns.LinkReport) error {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "LINK\tDIR\tIMPAIRMENT\tPASSED\tDROPPED\tDUPLICATED\tQUEUE DROPS\tDELAYED\tREORDERED\tCORRUPTED\n")
	var relays, holes []string
	for _, l := range rs {
		if len(l.Blackhole) > 0 {
			holes = append(holes, fmt.Sprintf("%s: blackhole at %s (what arrives is dropped; otb link set %s --state up ends it)", l.ID, strings.Join(l.Blackhole, ", "), l.ID))
		}
		if r := l.Relay; r != nil {
			relays = append(relays, fmt.Sprintf("%s: relay pid %d in %s, seed %d", l.ID, r.PID, r.NS, r.Seed))
		}
		switch {
		case l.Error != "":
			fmt.Fprintf(tw, "%s\t-\t? (%s)\n", l.ID, l.Error)
			continue
		case len(l.Directions) == 0:
			fmt.Fprintf(tw, "%s\t-\t- (a %s link is not impaired)\n", l.ID, l.Type)
			continue
		}
		for i, d := range l.Directions {
			id := l.ID
			if i > 0 {
				id = ""
			}
			cs := []string{"-", "-", "-", "-", "-", "-", "-"}
			if c := d.Counters; c != nil {
				cs = []string{fmt.Sprint(c.Passed), fmt.Sprint(c.Dropped), fmt.Sprint(c.Duplicated), fmt.Sprint(c.QueueDrops)}
				if l.Relay != nil {
					cs = append(cs, fmt.Sprint(c.Delayed), fmt.Sprint(c.Reordered), fmt.Sprint(c.Corrupted))
				} else {
					cs = append(cs, "-", "-", "-")
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", id, d.Dir, d.Impair, strings.Join(cs, "\t"))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(holes) > 0 {
		fmt.Fprintf(w, "\n%s\n", strings.Join(holes, "\n"))
	}
	if len(relays) > 0 {
		fmt.Fprintf(w, "\n%s\nA relay forwards at most %s; a performance test through it measures the relay beyond that.\n",
			strings.Join(relays, "\n"), relay.Ceiling)
	}
	return nil
}

// dockerImage is the image a docker node runs.
func dockerImage(n *topo.Node) string {
	if n.Image != "" {
		return n.Image
	}
	return docker.DefaultImage()
}
