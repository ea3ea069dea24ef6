package otb

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/o7s/ouroboros/testbed/docker"
	"github.com/o7s/ouroboros/testbed/netns"
	"github.com/o7s/ouroboros/testbed/swarm"
	"github.com/o7s/ouroboros/testbed/topo"
)

const swarmUsage = `usage: otb swarm COMMAND [--name S]
  up N [--no-image]   start N Docker engines of our own on this machine, each in a
                      network namespace with its own data root and socket, joined
                      by a bridge (198.19.0.K/24), in one swarm (managers when N >= 3,
                      else workers), and copy the node image into each (no registry
                      here); a lab with runtime: swarm then spans them
  down [--force]      stop the engines and remove everything of the swarm (refused
                      while a lab has nodes on it, unless --force)
  ls                  the swarms made here, and each engine's state and labs
  stop ENGINE         stop one engine (its dockerd; its containers stop with it),
                      as a host that goes down
  start ENGINE        start a stopped engine again
  load                copy the node image into every running engine (otb image
                      does this for every swarm)
--name S names the swarm (default o7s): topologies name its engines, or
otb deploy FILE --runtime swarm --swarm S places a file's nodes on them.`

func (c *cli) swarm(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(c.out, swarmUsage)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	fs := c.flags("swarm " + args[0])
	name := fs.String("name", swarm.DefaultName, "the swarm's name")
	force := fs.Bool("force", false, "down: remove the labs' containers too")
	noImage := fs.Bool("no-image", false, "up: do not copy the node image into the engines")
	pos, err := parse(fs, args[1:])
	if err != nil {
		return c.usageErr(swarmUsage)
	}
	switch args[0] {
	case "up":
		if len(pos) != 1 {
			return c.usageErr(swarmUsage)
		}
		n, err := strconv.Atoi(pos[0])
		if err != nil {
			return c.usageErr("otb swarm up N: N is a number of engines, not %q", pos[0])
		}
		o := swarm.Options{Out: c.out}
		if !*noImage {
			o.Image = docker.DefaultImage()
		}
		_, err = swarm.Up(ctx, *name, n, o)
		return err
	case "down":
		if len(pos) != 0 {
			return c.usageErr(swarmUsage)
		}
		return swarm.Down(ctx, *name, *force, c.out)
	case "ls", "status":
		if len(pos) != 0 {
			return c.usageErr(swarmUsage)
		}
		return c.swarmList(ctx)
	case "stop", "start":
		if len(pos) != 1 {
			return c.usageErr(swarmUsage)
		}
		if args[0] == "stop" {
			e, err := swarm.Stop(ctx, *name, pos[0])
			if err == nil {
				fmt.Fprintf(c.out, "engine %s of swarm %s stopped (its containers with it)\n", e.Name, *name)
			}
			return err
		}
		e, err := swarm.Start(ctx, *name, pos[0])
		if err == nil {
			fmt.Fprintf(c.out, "engine %s of swarm %s started: dockerd pid %d\n", e.Name, *name, e.PID)
		}
		return err
	case "load":
		if len(pos) != 0 {
			return c.usageErr(swarmUsage)
		}
		return swarm.LoadImage(ctx, *name, docker.DefaultImage(), c.out)
	}
	return c.usageErr("otb swarm: unknown command %q\n%s", args[0], swarmUsage)
}

func (c *cli) swarmList(ctx context.Context) error {
	names := swarm.List()
	if len(names) == 0 {
		fmt.Fprintln(c.out, "no swarms (otb swarm up 3 makes one)")
		return nil
	}
	for _, name := range names {
		s, st, err := swarm.Status(ctx, name)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.out, "swarm %s (made %s)\n", name, s.Created.Format("2006-01-02 15:04:05"))
		w := tabwriter.NewWriter(c.out, 2, 8, 2, ' ', 0)
		fmt.Fprintln(w, "  ENGINE\tADDR\tDOCKERD\tSWARM\tROLE\tLABS\tHOST")
		for _, e := range st {
			pid, role := "stopped", "worker"
			if e.Running {
				pid = strconv.Itoa(e.PID)
			}
			if e.Manager {
				role = "manager"
			}
			labs := strings.Join(e.Labs, ",")
			if labs == "" {
				labs = "-"
			}
			fmt.Fprintf(w, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Name, e.Addr, pid, e.Swarm, role, labs, e.Host())
		}
		w.Flush()
	}
	return nil
}

// knownRuntime tells whether --runtime names a runtime ("" for none).
func knownRuntime(rt string) bool {
	switch rt {
	case "", topo.RuntimeNetns, topo.RuntimeDocker, topo.RuntimeSwarm:
		return true
	}
	return false
}

// swarmHosts are the hosts --swarm S names (nil without it), which makes
// the runtime swarm unless it was given.
func swarmHosts(name string, rt *string) ([]*topo.Host, error) {
	if name == "" {
		return nil, nil
	}
	if *rt == "" {
		*rt = topo.RuntimeSwarm
	}
	if *rt != topo.RuntimeSwarm {
		return nil, fmt.Errorf("--swarm places the nodes of a swarm lab, and --runtime says %s; leave --runtime out, or write --runtime swarm", *rt)
	}
	return netns.SwarmHosts(name)
}

// loadIntoSwarms copies a freshly built image into every swarm made here.
func (c *cli) loadIntoSwarms(ctx context.Context, ref string) error {
	for _, name := range swarm.List() {
		if err := swarm.LoadImage(ctx, name, ref, c.out); err != nil {
			return fmt.Errorf("swarm %s: %w", name, err)
		}
	}
	return nil
}
