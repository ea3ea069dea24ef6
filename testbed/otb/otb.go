// Package otb is the testbed's command line: deploy, destroy, inspect,
// exec, graph and gc over the netns runtime.
package otb

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/o7s/ouroboros/internal/version"
	"github.com/o7s/ouroboros/testbed/docker"
	"github.com/o7s/ouroboros/testbed/netns"
	"github.com/o7s/ouroboros/testbed/relay"
	"github.com/o7s/ouroboros/testbed/topo"
)

const usage = `Usage: otb COMMAND [ARGS]

The Ouroboros testbed: a topology file becomes nodes in network namespaces
or Docker containers, joined by veth links, LAN bridges and UDP links, each
running onode, with shim layers on the links and unicast and broadcast
layers over them.

Commands:
  deploy FILE [--lab LAB] [--runtime netns|docker|swarm] [--swarm S] [--no-wait] [--dry-run]
                                   make the lab real: namespaces (or containers),
                                   links, onodes,
                                   then each layer (shims; unicast and broadcast
                                   layers bootstrapped, enrolled, connected);
                                   --lab names the lab instead of the file's
                                   name: (two labs of one file, side by side);
                                   --runtime replaces the file's runtime: (a
                                   node's own runtime: still wins); --swarm S
                                   places a swarm lab's nodes on the engines of
                                   swarm S (otb swarm up; implies --runtime
                                   swarm) when the file has no hosts:;
                                   it then waits until the lab is ready (see
                                   wait), unless --no-wait; --dry-run prints
                                   every step instead. Again on a lab that is
                                   up: only what the file changed (nodes, links,
                                   LAN members, impairment, layers, names) is
                                   made or removed (--dry-run lists it)
  destroy (FILE | LAB | --all) [--ignore-missing]
                                   remove exactly what the lab made; a lab of
                                   which nothing exists is an error, unless
                                   --ignore-missing
  inspect [LAB] [-o json]          nodes, onode, IPCPs, names, flows; for unicast and
                                   broadcast layers each member's state, address,
                                   neighbours, routes and registered names
  exec [--lab LAB] NODE -- CMD...  run CMD inside NODE with OUROBOROS_SOCK set for it
                                   (in a docker node: in its container, through
                                   the engine; Ctrl-C is passed on to CMD)
  logs [--lab LAB] NODE [-n N] [-f]
                                   a node's onode log (its file, or its
                                   container's output): all, the last N lines,
                                   -f to follow it
  image [--tag T] [--prune]        build the node image o7s/node FROM scratch from
                                   the static binaries next to otb (make image):
                                   tagged with otb's version (the image docker
                                   nodes run by default) and latest, or T;
                                   --prune removes its other tags
  graph FILE [--layer L [--live [--lab LAB]]] [--format dot|mermaid]
                                   draw the topology, or one layer's graph (its
                                   adjacencies and enrollments as planned; --live
                                   adds addresses and adjacency state from the
                                   running lab named in FILE, or LAB)
  link set LINK [--state down|up|blackhole] [--from NODE] [--loss P] [--duplicate P]
           [--rate R] [--delay D] [--jitter D] [--reorder P] [--corrupt P]
           [--loss-burst N] [--clear] [--lab LAB]
                                   change a running link: --state takes its interfaces
                                   down or up in both namespaces (blackhole: they stay
                                   up and drop all that arrives, silently) (LINK: A:IF--B:IF, a
                                   LAN's bridge, or a LAN member's NODE:IF); the knobs
                                   change its impairment (point-to-point links), both
                                   ways or only what --from NODE sends, keeping the
                                   knobs not given unless --clear: --loss 1%%,
                                   --duplicate 0.1%%, --rate 100mbit (0 removes one);
                                   --delay 20ms, --jitter 5ms, --reorder 1%%,
                                   --corrupt 0.1%%, --loss-burst 3 on a link deployed
                                   with a relay (see below)
  link show [LINK] [--lab LAB] [-o json]
                                   each link's impairment both ways as the kernel or
                                   its relay has it, with frames passed, dropped (loss),
                                   duplicated, dropped by the rate limit's queue, and
                                   through a relay delayed, reordered and corrupted
  tunnel restart NAME [--end server|client] [--lab LAB]
                                   stop a tunnel's ovpn (both ends, or one) by PID
                                   and start it again, as a gateway's ovpn
                                   restarting; a client whose server restarted
                                   allocates a new flow by itself
  node (stop|start|restart) NODE [--lab LAB] [--kill] [--no-wait]
                                   failure injection: stop a node's onode by its PID
                                   (SIGTERM, SIGKILL after 5s; --kill: SIGKILL at
                                   once), its links staying; start it again with
                                   its IPCPs bootstrapped or enrolled through a
                                   member that is up, its adjacencies and names
                                   made again, and wait for the layers to converge
                                   (otb node --help says more)
  gen SHAPE N [--name LAB] [--seed S]
                                   print a topology file of N nodes n1..nN in a
                                   SHAPE (line, ring, grid, tree, random) with one
                                   unicast layer, net, over eth-dix links; the
                                   node farthest from n1 serves oping and operf
  wait [LAB] [--timeout D]         wait until the lab is ready: every node up, every
                                   member of every layer enrolled with its adjacencies
                                   up, routes to every member (deploy waits too)
  capture NODE:IF [--lab LAB] [-c COUNT] [-w FILE.pcap] [--duration D]
                                   write the frames NODE's interface IF sends and
                                   receives to a pcap file (default: stdout, unless
                                   a terminal) until COUNT frames, D or Ctrl-C;
                                   tools/wireshark/ouroboros.lua dissects them
  story run FILE [--lab LAB] [--runtime netns|docker] [--junit FILE.xml] [--keep]
                                   run a story (the file's story:, or a story file:
                                   topology: FILE and story:): deploy the lab if it
                                   is not up (destroyed after, unless --keep), run
                                   each step (run a command on a node, in the
                                   background or not, bound to a name first; set a
                                   link; stop, start or restart a node; wait until
                                   ready; sleep), at its time or after the step
                                   before, check its expectations (exit status,
                                   output, packet loss, round trip, packets and
                                   bytes received), print a table; exit 0 only if
                                   every expectation held. topologies/story-*.yaml
  gc                               remove labs whose directory or namespaces are gone
                                   (not one that a running deploy is making)
  swarm (up N | down | ls | stop E | start E | load) [--name S]
                                   Docker engines of our own on this machine, in
                                   network namespaces, joined in a swarm, for labs
                                   across hosts (otb swarm help says more)
  help                             this text
  --version                        print the version

LAB defaults to the only lab deployed. Lab state lives in %s/<lab>.
deploy (but --dry-run), destroy, exec, link, node, capture and gc need root (inspect shows
impairments only as root). Impairment: loss, duplicate and rate are made in
the kernel (nftables, tbf). A link whose file asks for delay, jitter,
reorder, corrupt or loss_burst (or has relay: true in its impair:) is
deployed through a userspace impairment relay (no netem here): a namespace
o7s-<lab>-relay_<n> between its ends, with a process that forwards every
frame through AF_PACKET and makes all of the link's knobs real, seeded
(impair: {seed: N}) so that runs repeat. A relay forwards at most
` + relay.Ceiling + `;
a performance test through it measures the relay.
Docker runtime: runtime: docker in the file (or on a node) puts nodes that
run onode into containers of the image o7s/node:<otb's version> (make image),
or the node's image:, with cpus: and memory: limits; bridges and hosts stay
namespaces, so one lab can mix both. Each docker node is two containers,
labelled o7s.lab=<lab>: o7s-<lab>-<node>-ns holds its network namespace
(bound to /run/netns/o7s-<lab>-<node>, where its links are) and
o7s-<lab>-<node> runs onode in it; destroy and gc find them by the label.
Tunnel gateways run in namespaces only.
Swarm runtime: runtime: swarm (or --swarm S) places each node's two containers
on the engine of its host (hosts: names engines, a node's host: picks one, else
round robin); the holders share one overlay network of the lab's, over which
each link is a VXLAN segment (broadcast included) under the link's interface
names. Its engines must run on this machine (otb reaches each node's namespace
and control socket here); impairment that needs a relay (delay, ...), IP hosts,
tunnels, other implementations and changes in place are refused.
Other implementations: impl: reference (or impl: ./profile.yaml) with image:
on a node runs another Ouroboros implementation (the reference's irmd, from
an image you build) in a docker node, its deploy steps the profile's
commands (testbed/profiles/README.md); it is up when the profile's ready
command succeeds, inspect shows its status command's output and not its
IPCPs, otb exec maps tools by the profile, otb node stop/start refuse it.
make interop IMAGE=... runs the oping/operf matrix against it.
Not yet: a foreign implementation run from a binary directory (give it an image).
README.md (The testbed) has a walk-through; topologies/default.yaml is a
commented topology file.
`

// Main runs otb and returns its exit status.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == netns.NSExecArg {
		return netns.RunNSExec(args[1:])
	}
	if len(args) > 0 && args[0] == relay.Arg { // run by deploy in a relay's namespace
		return relay.Main(args[1:])
	}
	if len(args) == 0 {
		fmt.Fprintf(stderr, usage, netns.DefaultRoot)
		return 2
	}
	c := &cli{ctx: ctx, out: stdout, err: stderr, o: netns.Options{Out: stdout}}
	if needsRoot(args) && os.Geteuid() != 0 {
		fmt.Fprintf(stderr, "otb %s needs root: it makes network namespaces and links (run it with sudo)\n", args[0])
		return 1
	}
	var err error
	switch args[0] {
	case "deploy":
		err = c.deploy(ctx, args[1:])
	case "destroy":
		err = c.destroy(args[1:])
	case "inspect":
		err = c.inspect(ctx, args[1:])
	case "exec":
		return c.exec(args[1:])
	case "graph":
		err = c.graph(ctx, args[1:])
	case "link":
		err = c.link(args[1:])
	case "node":
		err = c.node(ctx, args[1:])
	case "gc":
		err = c.gc()
	case "wait":
		err = c.wait(ctx, args[1:])
	case "gen":
		err = c.gen(args[1:])
	case "tunnel":
		err = c.tunnel(ctx, args[1:])
	case "capture":
		err = c.capture(args[1:])
	case "image":
		err = c.image(ctx, args[1:])
	case "story":
		err = c.storyCmd(ctx, args[1:])
	case "logs":
		err = c.logs(ctx, args[1:])
	case "swarm":
		err = c.swarm(ctx, args[1:])
	case "help", "-h", "--help":
		fmt.Fprintf(stdout, usage, netns.DefaultRoot)
		return 0
	case "--version":
		fmt.Fprint(stdout, version.Line("otb"))
		return 0
	default:
		fmt.Fprintf(stderr, "otb: unknown command %q\n\n"+usage, args[0], netns.DefaultRoot)
		return 2
	}
	if errors.Is(err, errUsage) {
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "otb: %v\n", err)
		return 1
	}
	return 0
}

var errUsage = errors.New("usage")

// needsRoot tells whether a command changes or enters namespaces.
func needsRoot(args []string) bool {
	switch args[0] {
	case "destroy", "exec", "gc", "link", "tunnel", "capture", "image", "logs", "story":
		return true
	case "swarm":
		return len(args) > 1 && !slices.Contains([]string{"help", "-h", "--help", "-help"}, args[1])
	case "node":
		return len(args) > 1 && !slices.Contains([]string{"help", "-h", "--help", "-help"}, args[1])
	case "deploy":
		for _, a := range args[1:] {
			if a == "--dry-run" || a == "-dry-run" {
				return false
			}
		}
		return true
	}
	return false
}

type cli struct {
	ctx      context.Context // the command's, for a file labArg loads
	out, err io.Writer
	o        netns.Options
}

func (c *cli) usageErr(format string, a ...any) error {
	fmt.Fprintf(c.err, "otb: "+format+"\n", a...)
	return errUsage
}

func (c *cli) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("otb "+name, flag.ContinueOnError)
	fs.SetOutput(c.err)
	return fs
}

// parse parses flags that may follow positional arguments.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, errUsage
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func (c *cli) deploy(ctx context.Context, args []string) error {
	fs := c.flags("deploy")
	dry := fs.Bool("dry-run", false, "print the plan, make nothing")
	lab := fs.String("lab", "", "the lab's name, instead of the file's")
	noWait := fs.Bool("no-wait", false, "do not wait for the layers to be ready")
	rt := fs.String("runtime", "", "netns, docker or swarm: instead of the file's runtime")
	sw := fs.String("swarm", "", "a swarm lab's hosts: the engines of this swarm (otb swarm up), when the file has no hosts:")
	pos, err := parse(fs, args)
	if err != nil || len(pos) != 1 || !knownRuntime(*rt) {
		return c.usageErr("usage: otb deploy FILE [--lab LAB] [--runtime netns|docker|swarm] [--swarm S] [--no-wait] [--dry-run]")
	}
	hosts, err := swarmHosts(*sw, rt)
	if err != nil {
		return err
	}
	c.o.NoWait = *noWait
	if *lab != "" {
		if err := topo.CheckLabName(*lab); err != nil {
			return fmt.Errorf("--lab: %w", err)
		}
	}
	t, err := topo.LoadWith(ctx, pos[0], topo.LoadOptions{Runtime: *rt, Hosts: hosts})
	if err != nil {
		return err
	}
	if *lab != "" {
		t.Name = *lab
	}
	if *dry {
		if d, err := netns.ReconcilePlan(ctx, t, c.o); err != nil {
			return fmt.Errorf("lab %s is up, and the file asks for changes it cannot make in place:\n%w", t.Name, err)
		} else if d != nil {
			if d.Empty() {
				fmt.Fprintf(c.out, "lab %s is up and as the file says; a deploy would change nothing\n", t.Name)
				return nil
			}
			fmt.Fprintf(c.out, "lab %s is up; a deploy would change:\n", t.Name)
			d.Print(c.out, true)
			return netns.CheckImpairments(t)
		}
		if err := printPlan(c.out, t); err != nil {
			return err
		}
		return netns.CheckImpairments(t) // as deploy would
	}
	_, err = netns.Deploy(ctx, t, c.o)
	return err
}

// labArg resolves a lab from a topology file, a lab name, or the only lab.
func (c *cli) labArg(arg string) (string, error) {
	if arg != "" {
		if strings.HasSuffix(arg, ".yaml") || strings.HasSuffix(arg, ".yml") {
			t, err := topo.LoadContext(c.ctx, arg)
			if err != nil {
				return "", err
			}
			return t.Name, nil
		}
		return arg, nil
	}
	labs := netns.Labs(netns.DefaultRoot)
	switch len(labs) {
	case 1:
		return labs[0], nil
	case 0:
		return "", errors.New("no lab is deployed")
	}
	return "", fmt.Errorf("several labs are deployed (%s): name one", strings.Join(labs, ", "))
}

func (c *cli) destroy(args []string) error {
	fs := c.flags("destroy")
	all := fs.Bool("all", false, "destroy every lab")
	missingOK := fs.Bool("ignore-missing", false, "a lab of which nothing exists is not an error")
	pos, err := parse(fs, args)
	if err != nil || len(pos) > 1 || (*all == (len(pos) == 1)) {
		return c.usageErr("usage: otb destroy (FILE | LAB | --all) [--ignore-missing]")
	}
	if *all {
		var errs []error
		for _, lab := range netns.Labs(netns.DefaultRoot) {
			errs = append(errs, netns.Destroy(lab, c.o))
		}
		_, err := netns.GC(c.o)
		return errors.Join(append(errs, err)...)
	}
	lab, err := c.labArg(pos[0])
	if err != nil {
		return err
	}
	err = netns.Destroy(lab, c.o)
	if errors.Is(err, netns.ErrNoLab) && *missingOK {
		fmt.Fprintf(c.out, "lab %s: nothing to destroy\n", lab)
		return nil
	}
	return err
}

func (c *cli) inspect(ctx context.Context, args []string) error {
	fs := c.flags("inspect")
	format := fs.String("o", "text", "output: text or json")
	pos, err := parse(fs, args)
	if err != nil || len(pos) > 1 || (*format != "text" && *format != "json") {
		return c.usageErr("usage: otb inspect [LAB] [-o json]")
	}
	lab, err := c.labArg(strings.Join(pos, ""))
	if err != nil {
		return err
	}
	r, err := netns.Inspect(ctx, lab, c.o)
	if err != nil {
		return err
	}
	if *format == "json" {
		enc := json.NewEncoder(c.out)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	return printReport(c.out, r)
}

func (c *cli) exec(args []string) int {
	lab := ""
	if len(args) >= 2 && args[0] == "--lab" {
		lab, args = args[1], args[2:]
	}
	if len(args) < 3 || args[1] != "--" {
		fmt.Fprintln(c.err, "usage: otb exec [--lab LAB] NODE -- CMD [ARGS...]")
		return 2
	}
	lab, err := c.labArg(lab)
	if err != nil {
		fmt.Fprintf(c.err, "otb: %v\n", err)
		return 1
	}
	return netns.Exec(lab, args[0], args[2:], c.o)
}

func (c *cli) graph(ctx context.Context, args []string) error {
	fs := c.flags("graph")
	format := fs.String("format", "dot", "dot or mermaid")
	layer := fs.String("layer", "", "draw this layer's graph")
	live := fs.Bool("live", false, "with --layer: add the running lab's addresses and adjacencies")
	lab := fs.String("lab", "", "with --live: the running lab, if not the file's name")
	pos, err := parse(fs, args)
	if err != nil || len(pos) != 1 || (*format != "dot" && *format != "mermaid") || (*live && *layer == "") || (*lab != "" && !*live) {
		return c.usageErr("usage: otb graph FILE [--layer L [--live [--lab LAB]]] [--format dot|mermaid]")
	}
	t, err := topo.LoadContext(ctx, pos[0])
	if err != nil {
		return err
	}
	if *layer == "" {
		if *format == "mermaid" {
			return t.Mermaid(c.out)
		}
		return t.Dot(c.out)
	}
	g := t.LayerGraph(*layer)
	if g == nil {
		var names []string
		for _, ly := range t.Layers {
			names = append(names, ly.Name)
		}
		return fmt.Errorf("%s has no layer %q (layers: %s)", pos[0], *layer, strings.Join(names, ", "))
	}
	if *live {
		if ly := t.Layer(*layer); !ly.Upper() {
			return fmt.Errorf("--live shows adjacencies of unicast and broadcast layers; %s is %s (drop --live)", ly.Name, ly.Type)
		}
		name := t.Name
		if *lab != "" {
			name = *lab
		}
		r, err := netns.Inspect(ctx, name, c.o)
		if err != nil {
			return fmt.Errorf("--live: %w", err)
		}
		g.Live(liveMembers(r, *layer))
	}
	if *format == "mermaid" {
		return g.Mermaid(c.out)
	}
	return g.Dot(c.out)
}

// liveMembers is what the members of a layer report, for its graph.
func liveMembers(r *netns.Report, layer string) []topo.LiveMember {
	var l []topo.LiveMember
	for _, lr := range r.Layers {
		if lr.Name != layer {
			continue
		}
		for _, st := range lr.Status {
			lm := topo.LiveMember{Node: st.Node, Addr: st.Addr}
			for _, nb := range st.Neighbours {
				if nb.GetComp() == "dt" || nb.GetComp() == "" {
					lm.Neighbours = append(lm.Neighbours, topo.LiveNeighbour{Addr: nb.GetAddr(), Comp: nb.GetComp(), Up: nb.GetUp()})
				}
			}
			l = append(l, lm)
		}
	}
	return l
}

const (
	linkSetUse  = "usage: otb link set LINK [--state down|up|blackhole] [--from NODE] [--loss P] [--duplicate P] [--rate R] [--clear] [--lab LAB]"
	linkShowUse = "usage: otb link show [LINK] [--lab LAB] [-o json]"
)

func (c *cli) link(args []string) error {
	switch {
	case len(args) > 0 && args[0] == "set":
		return c.linkSet(args[1:])
	case len(args) > 0 && args[0] == "show":
		return c.linkShow(args[1:])
	}
	return c.usageErr("%s\n       %s", linkSetUse, linkShowUse)
}

func (c *cli) linkSet(args []string) error {
	fs := c.flags("link set")
	state := fs.String("state", "", "down, up or blackhole")
	lab := fs.String("lab", "", "the lab (default: the only one deployed)")
	from := fs.String("from", "", "change only what this node sends (default: both ways)")
	clear := fs.Bool("clear", false, "remove the impairment (then apply the knobs given, if any)")
	knobs := map[string]*string{}
	for _, k := range topo.Knobs {
		knobs[k] = fs.String(strings.ReplaceAll(k, "_", "-"), "", "the link's "+k)
	}
	pos, err := parse(fs, args)
	if err != nil || len(pos) != 1 || (*state != "" && *state != "down" && *state != "up" && *state != "blackhole") {
		return c.usageErr(linkSetUse)
	}
	ch := netns.ImpairChange{From: *from, Clear: *clear, Knobs: map[string]string{}}
	fs.Visit(func(f *flag.Flag) {
		if k := strings.ReplaceAll(f.Name, "-", "_"); knobs[k] != nil {
			ch.Knobs[k] = *knobs[k]
		}
	})
	impair := ch.Clear || len(ch.Knobs) > 0
	switch {
	case !impair && *state == "":
		return c.usageErr("%s\notb: say what to change: --state, a knob (--loss, --duplicate, --rate) or --clear", linkSetUse)
	case !impair && *from != "":
		return c.usageErr("%s\notb: --from goes with a knob or --clear", linkSetUse)
	}
	for k, v := range ch.Knobs { // before looking for the lab: a typo is the first thing to hear of
		if err := new(topo.Impairment).SetKnob(k, v); err != nil {
			return fmt.Errorf("--%s: %w", strings.ReplaceAll(k, "_", "-"), err)
		}
	}
	name, err := c.deployedLab(*lab)
	if err != nil {
		return err
	}
	if impair {
		if err := netns.SetLinkImpair(name, pos[0], ch, c.o); err != nil {
			return err
		}
	}
	if *state != "" {
		return netns.SetLinkState(name, pos[0], *state, c.o)
	}
	return nil
}

func (c *cli) linkShow(args []string) error {
	fs := c.flags("link show")
	lab := fs.String("lab", "", "the lab (default: the only one deployed)")
	format := fs.String("o", "text", "output: text or json")
	pos, err := parse(fs, args)
	if err != nil || len(pos) > 1 || (*format != "text" && *format != "json") {
		return c.usageErr(linkShowUse)
	}
	name, err := c.deployedLab(*lab)
	if err != nil {
		return err
	}
	rs, err := netns.LinkReports(name, strings.Join(pos, ""), c.o)
	if err != nil {
		return err
	}
	if *format == "json" {
		enc := json.NewEncoder(c.out)
		enc.SetIndent("", "  ")
		return enc.Encode(rs)
	}
	return printLinks(c.out, rs)
}

// deployedLab is the lab named (or the only one), which must be deployed.
func (c *cli) deployedLab(lab string) (string, error) {
	name, err := c.labArg(lab)
	if err != nil {
		return "", err
	}
	if labs := netns.Labs(netns.DefaultRoot); !slices.Contains(labs, name) {
		return "", fmt.Errorf("no lab %s is deployed (deployed: %s)", name, orNone(labs))
	}
	return name, nil
}

func orNone(l []string) string {
	if len(l) == 0 {
		return "none"
	}
	return strings.Join(l, ", ")
}

func (c *cli) wait(ctx context.Context, args []string) error {
	fs := c.flags("wait")
	timeout := fs.Duration("timeout", netns.ReadyTimeout, "how long to wait")
	pos, err := parse(fs, args)
	if err != nil || len(pos) > 1 || *timeout <= 0 {
		return c.usageErr("usage: otb wait [LAB] [--timeout D]")
	}
	lab, err := c.labArg(strings.Join(pos, ""))
	if err != nil {
		return err
	}
	took, err := netns.WaitReady(ctx, lab, c.o, *timeout)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.out, "lab %s ready (%v)\n", lab, took.Round(time.Millisecond))
	return nil
}

func (c *cli) tunnel(ctx context.Context, args []string) error {
	const use = "usage: otb tunnel restart NAME [--end server|client] [--lab LAB]"
	if len(args) == 0 || args[0] != "restart" {
		return c.usageErr(use)
	}
	fs := c.flags("tunnel restart")
	lab := fs.String("lab", "", "the lab (default: the only one)")
	end := fs.String("end", "", "restart only this end: server or client")
	pos, err := parse(fs, args[1:])
	if err != nil || len(pos) != 1 {
		return c.usageErr(use)
	}
	name, err := c.labArg(*lab)
	if err != nil {
		return err
	}
	return netns.RestartTunnel(ctx, name, pos[0], *end, c.o)
}

func (c *cli) gen(args []string) error {
	const use = "usage: otb gen SHAPE N [--name LAB] [--seed S]   (SHAPE: line, ring, grid, tree, random)"
	fs := c.flags("gen")
	name := fs.String("name", "", "the lab's name (default SHAPE and N, e.g. ring100)")
	seed := fs.Uint64("seed", 1, "the seed of a random shape")
	pos, err := parse(fs, args)
	if err != nil || len(pos) != 2 {
		return c.usageErr(use)
	}
	n, err := strconv.Atoi(pos[1])
	if err != nil {
		return c.usageErr(use)
	}
	if *name == "" {
		*name = pos[0] + pos[1]
	}
	b, err := topo.Generate(pos[0], n, *name, *seed)
	if err != nil {
		return err
	}
	_, err = c.out.Write(b)
	return err
}

func (c *cli) gc() error {
	gone, err := netns.GC(c.o)
	if len(gone) == 0 && err == nil {
		fmt.Fprintln(c.out, "nothing to collect")
	}
	return err
}

func (c *cli) image(ctx context.Context, args []string) error {
	fs := c.flags("image")
	tag := fs.String("tag", "", "tag the image o7s/node:T (default: otb's version, and latest)")
	prune := fs.Bool("prune", false, "remove the other tags of o7s/node (not those a container uses)")
	pos, err := parse(fs, args)
	if err != nil || len(pos) > 0 {
		return c.usageErr("usage: otb image [--tag T] [--prune]")
	}
	c.o.Fill()
	e, err := docker.Connect(ctx)
	if err != nil {
		return err
	}
	defer e.Close()
	tags := []string{docker.DefaultImage(), docker.Repo + ":latest"}
	if *tag != "" {
		tags = []string{docker.Repo + ":" + docker.Tag(*tag)}
	}
	start := time.Now()
	if err := e.BuildImage(ctx, c.o.BinDir, tags, nil); err != nil {
		return err
	}
	size, err := e.ImageSize(ctx, tags[0])
	if err != nil {
		return err
	}
	fmt.Fprintf(c.out, "image %s built from %s in %v: %.1f MB (%s)\n", strings.Join(tags, ", "), c.o.BinDir,
		time.Since(start).Round(time.Millisecond), float64(size)/1e6, strings.Join(docker.ImageBinaries, " "))
	if err := c.loadIntoSwarms(ctx, tags[0]); err != nil {
		return err
	}
	old, err := e.OldImages(ctx, tags)
	if err != nil || len(old) == 0 {
		return err
	}
	var total int64
	for _, t := range slices.Sorted(maps.Keys(old)) {
		if !*prune {
			total += old[t]
			continue
		}
		if err := e.RemoveImage(ctx, t); err != nil {
			fmt.Fprintf(c.out, "kept %s: %v\n", t, err)
			continue
		}
		fmt.Fprintf(c.out, "removed %s\n", t)
	}
	if !*prune {
		fmt.Fprintf(c.out, "%d other tags of %s (%.0f MB at most): otb image --prune removes them\n", len(old), docker.Repo, float64(total)/1e6)
	}
	return nil
}

func (c *cli) logs(ctx context.Context, args []string) error {
	fs := c.flags("logs")
	lab := fs.String("lab", "", "the lab (default: the only one deployed)")
	n := fs.Int("n", 0, "only the last N lines")
	follow := fs.Bool("f", false, "follow the log")
	pos, err := parse(fs, args)
	if err != nil || len(pos) != 1 || *n < 0 {
		return c.usageErr("usage: otb logs [--lab LAB] NODE [-n N] [-f]")
	}
	name, err := c.labArg(*lab)
	if err != nil {
		return err
	}
	return netns.NodeLog(ctx, name, pos[0], *n, *follow, os.Stdout, c.o)
}
