package otb

import (
	"context"
	"fmt"
	"slices"

	"github.com/o7s/ouroboros/testbed/netns"
)

const nodeUse = "usage: otb node (stop|start|restart) NODE [--lab LAB] [--kill] [--no-wait]"

const nodeHelp = nodeUse + `

Failure injection on one node of a running lab. Its namespace and links
stay; only its onode goes and comes back.

  stop      SIGTERM to the node's onode, by the PID the lab recorded; if
            it has not exited after %v, SIGKILL (--kill: SIGKILL at
            once). Its IPCPs, names and flows go with it; programs started
            on it with otb exec are left running, cut off from the layers
            (otb does not stop them). The lab records the node as stopped:
            inspect shows it, wait reports the lab not ready, destroy
            removes it as any other. Stopping a stopped node says so and
            succeeds (exit 0).
  start     start the node's onode again and redo for it what deploy did:
            its shim IPCPs bootstrapped on its interfaces; in each unicast
            and broadcast layer its IPCP enrolled through a member that is
            up (the one it enrolled through at deploy, else a neighbour),
            or bootstrapped when no other member is up; its adjacencies of
            the layer's connect strategy made again with the members that
            are up (those a neighbour made at deploy, the neighbour makes
            again); its names registered. Then it waits until every layer
            has converged again, but for nodes still stopped (unless
            --no-wait). Starting a node whose onode runs changes nothing
            (exit 0).
  restart   stop, then start.

  --lab LAB   the lab (default: the only one deployed)
  --kill      stop and restart: SIGKILL at once, no SIGTERM
  --no-wait   start and restart: do not wait for the layers to converge

Names bound to programs with irm (otb exec NODE -- irm bind ...) are gone
with the old onode: bind them again after a start. The restarted node's
IPCPs have new addresses. A neighbour in a unicast layer drops what it
held of the old IPCP (adjacencies, routes, directory contacts) as soon as
the new one connects again over the same link; the other members stop
routing to the old address within seconds.
`

// node runs otb node stop|start|restart.
func (c *cli) node(ctx context.Context, args []string) error {
	if len(args) > 0 && slices.Contains([]string{"help", "-h", "--help", "-help"}, args[0]) {
		fmt.Fprintf(c.out, nodeHelp, netns.StopGrace)
		return nil
	}
	if len(args) == 0 || !slices.Contains([]string{"stop", "start", "restart"}, args[0]) {
		return c.usageErr("%s\n(otb node --help says more)", nodeUse)
	}
	verb := args[0]
	fs := c.flags("node " + verb)
	lab := fs.String("lab", "", "the lab (default: the only one deployed)")
	kill := fs.Bool("kill", false, "stop with SIGKILL at once")
	noWait := fs.Bool("no-wait", false, "do not wait for the layers to converge")
	pos, err := parse(fs, args[1:])
	switch {
	case err != nil || len(pos) != 1:
		return c.usageErr(nodeUse)
	case *kill && verb == "start":
		return c.usageErr("%s\notb: --kill goes with stop and restart", nodeUse)
	case *noWait && verb == "stop":
		return c.usageErr("%s\notb: --no-wait goes with start and restart", nodeUse)
	}
	name, err := c.deployedLab(*lab)
	if err != nil {
		return err
	}
	c.o.NoWait = *noWait
	switch verb {
	case "stop":
		return netns.StopNode(ctx, name, pos[0], *kill, c.o)
	case "start":
		return netns.StartNode(ctx, name, pos[0], c.o)
	}
	return netns.RestartNode(ctx, name, pos[0], *kill, c.o)
}
