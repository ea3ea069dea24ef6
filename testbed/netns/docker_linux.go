package netns

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/o7s/ouroboros/testbed/docker"
	"github.com/o7s/ouroboros/testbed/topo"
)

// Docker nodes. A node with runtime: docker is two containers: a holder
// (network mode none, running opause) whose network namespace is the
// node's, and the node container that runs onode in it (network mode
// container:<holder>). The holder's namespace is bound to
// /run/netns/o7s-<lab>-<node>, as ip netns attach does, and marked like
// any node's: from there on the links, impairments, relays, captures and
// readiness checks of the netns runtime work on it unchanged, and the
// node's links survive a restart of its onode (its container). The node's
// lab directory is mounted into its container at the same path, so its
// control socket is where a namespace node's would be.

// dockerNodes are the docker nodes of a topology.
func dockerNodes(t *topo.Topology) []*topo.Node {
	var ns []*topo.Node
	for _, n := range t.Nodes {
		if n.Runtime == topo.RuntimeDocker {
			ns = append(ns, n)
		}
	}
	return ns
}

// checkDocker reaches the engine and checks the images a topology's docker
// nodes need, before anything is made. It returns nil, nil for a topology
// without docker nodes.
func checkDocker(ctx context.Context, t *topo.Topology) (*docker.Engine, error) {
	nodes := dockerNodes(t)
	if len(nodes) == 0 {
		return nil, nil
	}
	e, err := docker.Connect(ctx)
	if err != nil {
		return nil, fmt.Errorf("node %s has runtime docker: %w", nodes[0].Name, err)
	}
	images := []string{docker.DefaultImage()} // every holder runs the testbed's own
	for _, n := range nodes {
		if n.Image != "" && !slices.Contains(images, n.Image) {
			images = append(images, n.Image)
		}
	}
	for _, im := range images {
		if err := e.CheckImage(ctx, im); err != nil {
			e.Close()
			return nil, err
		}
	}
	return e, nil
}

// engine connects to the Docker engine for a lab that has docker nodes.
func engine(ctx context.Context, l *Lab) (*docker.Engine, error) {
	for _, name := range l.NodeNames() {
		if l.Nodes[name].Runtime == topo.RuntimeDocker {
			e, err := docker.Connect(ctx)
			if err != nil {
				return nil, fmt.Errorf("lab %s has docker nodes (%s): %w", l.Name, name, err)
			}
			return e, nil
		}
	}
	return nil, nil
}

// holder starts a docker node's holder container and binds its network
// namespace to the node's name.
func (d *deployer) holder(ctx context.Context, n *topo.Node) error {
	ns := d.l.Nodes[n.Name]
	_, pid, err := d.eng.RunHolder(ctx, d.t.Name, n.Name, docker.DefaultImage())
	if err != nil {
		return d.step(n.Name, "start holder container", err)
	}
	return d.step(n.Name, "attach namespace", attachNS(ns.NS, pid, d.t.Name))
}

// attachNS binds the network namespace of a process to a name, as ip
// netns attach does, and marks it as the lab's.
func attachNS(name string, pid int, lab string) error {
	if err := nsDirMount(); err != nil {
		return err
	}
	p := filepath.Join(nsDir, name)
	f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_RDONLY, 0o444)
	if err != nil {
		return fmt.Errorf("namespace %s: %w", name, err)
	}
	f.Close()
	if err := unix.Mount(fmt.Sprintf("/proc/%d/ns/net", pid), p, "none", unix.MS_BIND, ""); err != nil {
		os.Remove(p)
		return fmt.Errorf("bind the namespace of pid %d to %s: %w", pid, p, err)
	}
	return markNS(name, lab)
}

// engines are the deployer's connections to the engines of its lab's
// container nodes.
func (d *deployer) engines() *engines {
	if d.engs == nil {
		d.engs = d.l.engines()
	}
	return d.engs
}

// startContainer creates (at deploy) or starts again (otb node start) a
// docker node's container, and records the host PID of its onode.
func (d *deployer) startContainer(ctx context.Context, name string) (int, error) {
	ns := d.l.Nodes[name]
	id := ns.Container
	eng, err := d.engines().of(ctx, name)
	if err != nil {
		return 0, err
	}
	st, err := eng.State(ctx, docker.NodeName(d.l.Name, name))
	// A container whose onode was just stopped (by its PID) may still be
	// running to the engine for a moment; starting it then would do
	// nothing.
	for deadline := time.Now().Add(10 * time.Second); err == nil && st.Running && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		st, err = eng.State(ctx, docker.NodeName(d.l.Name, name))
	}
	if err == nil && st.Running {
		return 0, fmt.Errorf("container %s still runs, though its onode was stopped", docker.NodeName(d.l.Name, name))
	}
	if errors.Is(err, docker.ErrGone) {
		sec := filepath.Join(filepath.Dir(ns.Sock), "security")
		var err error
		id, err = eng.CreateNode(ctx, docker.NodeSpec{
			Lab: d.l.Name, Node: name, Image: ns.image(), Holder: ns.Holder,
			Dir: filepath.Dir(ns.Sock), Env: []string{"OUROBOROS_SOCK=" + ns.Sock},
			Cmd:      []string{"--sock", ns.Sock, "--security-dir", sec},
			NanoCPUs: int64(ns.CPUs * 1e9), Memory: ns.Memory,
		})
		if err != nil {
			return 0, err
		}
	} else if err != nil {
		return 0, err
	}
	return eng.Start(ctx, id)
}

// containerExited tells whether a docker node's container has stopped.
func (d *deployer) containerExited(ctx context.Context, name string) bool {
	eng, err := d.engines().of(ctx, name)
	if err != nil {
		return false
	}
	st, err := eng.State(ctx, d.l.Nodes[name].Container)
	return err == nil && !st.Running
}

func (n *NodeState) image() string {
	if n.Image != "" {
		return n.Image
	}
	return docker.DefaultImage()
}

// logTail is the end of a node's onode log: its file, or its container's
// output.
func (l *Lab) logTail(ctx context.Context, es *engines, node string, lines int) string {
	n := l.Nodes[node]
	if n == nil {
		return ""
	}
	if !n.InContainer() {
		if n.Log == "" {
			return ""
		}
		return tail(n.Log, lines)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	eng, err := es.of(ctx, node)
	if err != nil {
		return ""
	}
	s, _ := eng.Logs(ctx, n.Container, lines)
	return strings.TrimRight(s, "\n")
}

// removeContainers removes every container that carries the lab's marker
// (node containers before holders). With no engine to ask, a lab that
// recorded docker nodes is an error: its containers may be left.
func removeContainers(ctx context.Context, lab string, l *Lab) (int, error) {
	wants := false
	if l != nil {
		for _, n := range l.Nodes {
			wants = wants || n.Runtime == topo.RuntimeDocker
		}
	} else {
		l = &Lab{Name: lab}
	}
	es := l.engines()
	defer es.close()
	// The machine's engine, the lab's hosts, and the engines of the swarms
	// made here (a lab whose record is gone may have left containers there).
	hosts := []*topo.Host{nil}
	if l.Swarm != nil {
		hosts = append(hosts, l.Swarm.Hosts...)
	}
	hosts = append(hosts, swarmEngines()...)
	var errs []error
	removed, seen := 0, map[string]bool{}
	for _, h := range hosts {
		e, err := es.at(ctx, h)
		if err != nil {
			switch {
			case h == nil && wants:
				errs = append(errs, fmt.Errorf("lab %s has docker nodes, and %w; its containers (label %s=%s) are left", lab, err, docker.LabelLab, lab))
			case h != nil && l.host(h.Name) == h && !engineGone(h):
				errs = append(errs, fmt.Errorf("lab %s has nodes on host %s, and %w; its containers there (label %s=%s) are left: start the engine again and destroy the lab again", lab, h.Name, err, docker.LabelLab, lab))
			}
			continue
		}
		if seen[e.Host()] {
			continue
		}
		seen[e.Host()] = true
		cs, err := e.LabContainers(ctx, lab)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		slices.SortFunc(cs, func(a, b docker.Container) int { // nodes first
			return strings.Compare(b.Role, a.Role)
		})
		for _, c := range cs {
			if err := e.Remove(ctx, c.ID); err != nil {
				errs = append(errs, err)
			}
		}
		removed += len(cs)
	}
	if len(errs) > 0 {
		return removed, errors.Join(errs...) // its network is still in use
	}
	if err := removeSwarmNetwork(ctx, l, es); err != nil {
		errs = append(errs, fmt.Errorf("lab %s: its overlay network: %w", lab, err))
	}
	return removed, errors.Join(errs...)
}

// containerLabs are the labs that have containers in the engine (none if
// there is no engine).
func containerLabs(ctx context.Context) []string {
	es := (&Lab{}).engines()
	defer es.close()
	var labs []string
	for _, h := range append([]*topo.Host{nil}, swarmEngines()...) {
		e, err := es.at(ctx, h)
		if err != nil {
			continue
		}
		cs, _ := e.LabContainers(ctx, "")
		for _, c := range cs {
			if c.Lab != "" && !slices.Contains(labs, c.Lab) {
				labs = append(labs, c.Lab)
			}
		}
	}
	return labs
}

// execDocker runs argv in a docker node's container through the engine,
// passing on SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 to the
// command by its PID (otb stays between the user and the command, where
// for a namespace node it becomes the command).
func execDocker(l *Lab, n *NodeState, argv []string) int {
	ctx := context.Background()
	es := l.engines()
	defer es.close()
	e, err := es.of(ctx, n.Name)
	if err != nil {
		return fail(fmt.Errorf("node %s is a container: %w", n.Name, err))
	}
	st, err := e.State(ctx, n.Container)
	switch {
	case err != nil:
		return fail(fmt.Errorf("node %s: %w", n.Name, err))
	case !st.Running:
		return fail(fmt.Errorf("node %s is stopped (its container %s is %s): otb node start %s", n.Name, docker.NodeName(l.Name, n.Name), st.Status, n.Name))
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT, unix.SIGUSR1, unix.SIGUSR2)
	defer signal.Stop(sigs)
	var stdin *os.File
	if fi, err := os.Stdin.Stat(); err == nil && fi.Mode()&os.ModeCharDevice == 0 {
		stdin = os.Stdin // a pipe or a file: pass it on; a terminal is not
	}
	var env []string
	if n.Sock != "" {
		env = []string{"OUROBOROS_SOCK=" + n.Sock}
	}
	o := docker.ExecOptions{
		Env: env, Stdout: os.Stdout, Stderr: os.Stderr, Signals: sigs,
		Kill: func(pid int, sig os.Signal) { unix.Kill(pid, sig.(unix.Signal)) },
	}
	if stdin != nil {
		o.Stdin = stdin
	}
	code, err := e.Exec(ctx, n.Container, argv, o)
	if err != nil {
		return fail(err)
	}
	return code
}

// NodeLog writes a node's onode log to w: the whole file or container
// output, or its last lines, following it when follow is set.
func NodeLog(ctx context.Context, lab, node string, lines int, follow bool, w *os.File, o Options) error {
	o.fill()
	l, err := LoadLab(o.Root, lab)
	if err != nil {
		return notDeployed(o.Root, lab, err)
	}
	n, err := l.runner(node)
	if err != nil {
		return err
	}
	if !n.InContainer() {
		if lines > 0 && !follow {
			_, err := fmt.Fprintln(w, tail(n.Log, lines))
			return err
		}
		f, err := os.Open(n.Log)
		if err != nil {
			return err
		}
		defer f.Close()
		if lines > 0 {
			if _, err := fmt.Fprintln(w, tail(n.Log, lines)); err != nil {
				return err
			}
			f.Seek(0, 2)
		}
		buf := make([]byte, 32<<10)
		for {
			k, err := f.Read(buf)
			if k > 0 {
				w.Write(buf[:k])
			}
			if err != nil {
				if !follow {
					return nil
				}
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(200 * time.Millisecond):
				}
			}
		}
	}
	es := l.engines()
	defer es.close()
	e, err := es.of(ctx, n.Name)
	if err != nil {
		return fmt.Errorf("node %s is a container: %w", n.Name, err)
	}
	if follow {
		t := -1
		if lines > 0 {
			t = lines
		}
		return e.FollowLogs(ctx, n.Container, t, w)
	}
	s, err := e.Logs(ctx, n.Container, lines)
	if err != nil {
		return err
	}
	_, err = w.WriteString(s)
	return err
}

// watchContainer returns a channel closed when a docker node's container
// is seen stopped (polled while ctx lasts).
func (d *deployer) watchContainer(ctx context.Context, name string) <-chan struct{} {
	c := make(chan struct{})
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
			if d.containerExited(ctx, name) {
				close(c)
				return
			}
		}
	}()
	return c
}
