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
	"os"
	"strings"
	"text/tabwriter"

	"github.com/o7s/ouroboros/testbed/netns"
	"github.com/o7s/ouroboros/testbed/topo"
)

const usage = `Usage: otb COMMAND [ARGS]

The Ouroboros testbed: a topology file becomes nodes in network namespaces,
joined by veth links, LAN bridges and UDP links, each running onode.

Commands:
  deploy FILE [--dry-run]          make the lab real (again: nothing changes if it is up)
  destroy (FILE | LAB | --all)     remove exactly what the lab made; gone already is fine
  inspect [LAB] [-o json]          nodes, namespaces, onode, IPCPs, names and flows
  exec [--lab LAB] NODE -- CMD...  run CMD inside NODE with OUROBOROS_SOCK set for it
  graph FILE [--format dot|mermaid]  draw the topology
  gc                               remove labs whose directory or namespaces are gone
  help                             this text

LAB defaults to the only lab deployed. Lab state lives in %s/<lab>.
Needs root (network namespaces). Not yet: docker runtime, impairment, link
set, node stop/start, capture, story (see the design in TESTBED.md).
`

// Main runs otb and returns its exit status.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == netns.NSExecArg {
		return netns.RunNSExec(args[1:])
	}
	if len(args) == 0 {
		fmt.Fprintf(stderr, usage, netns.DefaultRoot)
		return 2
	}
	c := &cli{out: stdout, err: stderr, o: netns.Options{Out: stdout}}
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
		err = c.graph(args[1:])
	case "gc":
		err = c.gc()
	case "help", "-h", "--help":
		fmt.Fprintf(stdout, usage, netns.DefaultRoot)
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
	case "destroy", "exec", "gc":
		return true
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
	pos, err := parse(fs, args)
	if err != nil || len(pos) != 1 {
		return c.usageErr("usage: otb deploy FILE [--dry-run]")
	}
	t, err := topo.Load(pos[0])
	if err != nil {
		return err
	}
	if *dry {
		return printPlan(c.out, t)
	}
	_, err = netns.Deploy(ctx, t, c.o)
	return err
}

func printPlan(w io.Writer, t *topo.Topology) error {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "lab %s (%s)\n", t.Name, t.File)
	for _, n := range t.Nodes {
		fmt.Fprintf(tw, "node\t%s\t%s\tnetns %s\n", n.Name, n.Kind, netns.NSName(t.Name, n.Name))
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
		fmt.Fprintf(tw, "link\t%s\t%s\t%s\n", l.ID(), l.Type, strings.Join(eps, ", "))
	}
	for _, ly := range t.Layers {
		fmt.Fprintf(tw, "layer\t%s\t%s\ton %s: %s\n", ly.Name, ly.Type, ly.Link, strings.Join(ly.Members, ", "))
	}
	return tw.Flush()
}

// labArg resolves a lab from a topology file, a lab name, or the only lab.
func (c *cli) labArg(arg string) (string, error) {
	if arg != "" {
		if strings.HasSuffix(arg, ".yaml") || strings.HasSuffix(arg, ".yml") {
			t, err := topo.Load(arg)
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
	pos, err := parse(fs, args)
	if err != nil || len(pos) > 1 || (*all == (len(pos) == 1)) {
		return c.usageErr("usage: otb destroy (FILE | LAB | --all)")
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
	return netns.Destroy(lab, c.o)
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

func printReport(w io.Writer, r *netns.Report) error {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "lab %s (%s)\n\nNODE\tKIND\tNETNS\tONODE\tIPCPS\tNAMES\tFLOWS\n", r.Lab, r.File)
	for _, n := range r.Nodes {
		state := "-"
		if n.Kind == topo.KindNode {
			state = fmt.Sprintf("pid %d", n.PID)
			if !n.Up {
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
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\n", n.Name, n.Kind, n.NS, state, strings.Join(ipcps, ","), strings.Join(names, ","), len(n.Flows))
	}
	fmt.Fprintf(tw, "\nLAYER\tTYPE\tLINK\tIPCPS\n")
	for _, l := range r.Layers {
		var ps []string
		for node, p := range l.IPCPs {
			ps = append(ps, node+"="+p)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", l.Name, l.Type, l.Link, strings.Join(ps, " "))
	}
	return tw.Flush()
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

func (c *cli) graph(args []string) error {
	fs := c.flags("graph")
	format := fs.String("format", "dot", "dot or mermaid")
	pos, err := parse(fs, args)
	if err != nil || len(pos) != 1 || (*format != "dot" && *format != "mermaid") {
		return c.usageErr("usage: otb graph FILE [--format dot|mermaid]")
	}
	t, err := topo.Load(pos[0])
	if err != nil {
		return err
	}
	if *format == "mermaid" {
		return t.Mermaid(c.out)
	}
	return t.Dot(c.out)
}

func (c *cli) gc() error {
	gone, err := netns.GC(c.o)
	if len(gone) == 0 && err == nil {
		fmt.Fprintln(c.out, "nothing to collect")
	}
	return err
}
