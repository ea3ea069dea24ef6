package netns

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/o7s/ouroboros/stack/ctl"
	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/testbed/topo"
)

// StopGrace is how long a stop waits for an onode to exit after SIGTERM
// before it sends SIGKILL.
const StopGrace = 5 * time.Second

// stepsFile, in the lab directory, holds the steps the lab was deployed
// with (Steps), which a node's start replays for that node.
const stepsFile = "steps.json"

func saveSteps(dir string, st []Step) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, stepsFile+".tmp")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, stepsFile))
}

// deploySteps are the steps the lab was deployed with: as recorded, or,
// for a lab deployed by an otb that did not record them, as its topology
// file says now.
func (l *Lab) deploySteps(ctx context.Context) ([]Step, error) {
	b, err := os.ReadFile(filepath.Join(l.Dir, stepsFile))
	if errors.Is(err, os.ErrNotExist) {
		t, err := topo.LoadContext(ctx, l.File)
		if err != nil {
			return nil, fmt.Errorf("lab %s recorded no deploy steps (deployed by an older otb), and its file will not do: %w", l.Name, err)
		}
		return Steps(t), nil
	}
	if err != nil {
		return nil, err
	}
	var st []Step
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("lab %s: %s: %w", l.Name, stepsFile, err)
	}
	return st, nil
}

// StopNode stops a node's onode by its PID: SIGTERM, then SIGKILL if it
// has not exited within StopGrace; SIGKILL at once if kill. The node's
// namespace and links stay, and the lab records it as stopped. Programs
// started on the node with otb exec are left alone. A node that is
// stopped already is no error.
func StopNode(ctx context.Context, lab, node string, kill bool, o Options) error {
	o.fill()
	l, n, unlock, err := lockNode(o.Root, lab, node)
	if err != nil {
		return err
	}
	defer unlock()
	return stopNode(ctx, l, n, kill, o)
}

// StartNode starts a stopped node's onode again and brings the node back
// into its layers as deploy did (see restartPlan), then waits until the
// lab is ready, but for nodes still stopped (unless o.NoWait). A node
// whose onode runs is left as it is.
func StartNode(ctx context.Context, lab, node string, o Options) error {
	o.fill()
	l, n, unlock, err := lockNode(o.Root, lab, node)
	if err != nil {
		return err
	}
	defer unlock()
	return startNode(ctx, l, n, o)
}

// RestartNode stops a node (if it runs) and starts it again.
func RestartNode(ctx context.Context, lab, node string, kill bool, o Options) error {
	o.fill()
	l, n, unlock, err := lockNode(o.Root, lab, node)
	if err != nil {
		return err
	}
	defer unlock()
	if err := stopNode(ctx, l, n, kill, o); err != nil {
		return err
	}
	return startNode(ctx, l, n, o)
}

// lockNode takes the lab's lock and finds a node that runs onode.
func lockNode(root, lab, node string) (*Lab, *NodeState, func(), error) {
	if _, err := LoadLab(root, lab); err != nil { // before making a lock file for a lab that is not there
		return nil, nil, nil, notDeployed(root, lab, err)
	}
	unlock, err := lockLab(root, lab)
	if err != nil {
		return nil, nil, nil, err
	}
	l, err := LoadLab(root, lab)
	if err != nil {
		unlock()
		return nil, nil, nil, notDeployed(root, lab, err)
	}
	n, err := l.runner(node)
	if err == nil && n.Foreign() {
		err = fmt.Errorf("node %s runs impl %s, and otb node stop, start and restart drive onode only; stop its daemon with otb exec %s -- (its own command), or destroy the lab", node, n.Impl.Name, node)
	}
	if err != nil {
		unlock()
		return nil, nil, nil, err
	}
	return l, n, unlock, nil
}

func notDeployed(root, lab string, err error) error {
	if !errors.Is(err, ErrNoLab) {
		return err
	}
	deployed := strings.Join(Labs(root), ", ")
	if deployed == "" {
		deployed = "none"
	}
	return fmt.Errorf("%w: %s (deployed: %s)", ErrNoLab, lab, deployed)
}

// runner is a node of the lab that runs onode, with its namespace.
func (l *Lab) runner(node string) (*NodeState, error) {
	n := l.Nodes[node]
	if n == nil {
		return nil, errNoNode(l.Name, node, l.NodeNames())
	}
	if n.Kind != topo.KindNode || (n.Sock == "" && !n.Foreign()) {
		var runs []string
		for _, name := range l.NodeNames() {
			if l.Nodes[name].Kind == topo.KindNode {
				runs = append(runs, name)
			}
		}
		return nil, fmt.Errorf("node %s of lab %s is a %s and %w; nodes that do: %s", node, l.Name, n.Kind, errNodeKind, strings.Join(runs, ", "))
	}
	if _, err := os.Stat(filepath.Join(nsDir, n.NS)); err != nil {
		return nil, fmt.Errorf("node %s: namespace %s is gone: destroy the lab and deploy it again", node, n.NS)
	}
	return n, nil
}

// running tells whether the node's recorded PID is its onode, running in
// its namespace.
func running(n *NodeState) bool {
	if n.PID <= 0 || !alive(n.PID, n.NS) {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", n.PID))
	return err == nil && strings.Contains(string(b), n.Sock)
}

func stopNode(ctx context.Context, l *Lab, n *NodeState, kill bool, o Options) error {
	if !running(n) {
		if n.Stopped {
			fmt.Fprintf(o.Out, "node %s is stopped already; nothing to do\n", n.Name)
			return nil
		}
		fmt.Fprintf(o.Out, "node %s: its onode (pid %d) was not running\n", n.Name, n.PID)
		n.Stopped, n.PID = true, 0
		return l.save()
	}
	flows := -1
	qctx, cancel := context.WithTimeout(ctx, time.Second)
	if fl, err := ctl.NewClient(n.Sock).Flows(qctx); err == nil {
		flows = len(fl)
	}
	cancel()
	pid := n.PID
	sig, how := unix.SIGTERM, "SIGTERM"
	if kill {
		sig, how = unix.SIGKILL, "SIGKILL"
	}
	start := time.Now()
	if err := unix.Kill(pid, sig); err != nil && !errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("node %s: stop onode (pid %d): %w", n.Name, pid, err)
	}
	if !kill && !exited(pid, StopGrace) {
		fmt.Fprintf(o.Out, "node %s: onode (pid %d) still runs %v after SIGTERM: SIGKILL\n", n.Name, pid, StopGrace)
		unix.Kill(pid, unix.SIGKILL)
		how = "SIGKILL after SIGTERM"
	}
	if !exited(pid, StopGrace) || !unanswered(n.Sock, StopGrace) {
		return fmt.Errorf("node %s: onode (pid %d) still runs after SIGKILL", n.Name, pid)
	}
	n.Stopped, n.PID = true, 0
	if err := l.save(); err != nil {
		return fmt.Errorf("lab directory: %w", err)
	}
	fmt.Fprintf(o.Out, "node %s: onode (pid %d) stopped (%s, %v)\n", n.Name, pid, how, time.Since(start).Round(time.Millisecond))
	gone := "its flows are gone"
	if flows >= 0 {
		gone = fmt.Sprintf("its %d flows are gone", flows)
	}
	fmt.Fprintf(o.Out, "node %s: its IPCPs, names and bindings went with it, and %s; programs started on it with otb exec were left running, cut off from the layers; its links stay\n", n.Name, gone)
	return nil
}

// unanswered waits up to limit for nothing to answer on a node's socket
// any more: a process killed shows as a zombie while its threads are
// still closing its files.
func unanswered(sock string, limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	for {
		c, err := net.DialTimeout("unixpacket", sock, 100*time.Millisecond)
		if err != nil {
			return true
		}
		c.Close()
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// exited waits up to limit for a process to be gone (or a zombie).
func exited(pid int, limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	for {
		if unix.Kill(pid, 0) != nil || zombie(pid) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func startNode(ctx context.Context, l *Lab, n *NodeState, o Options) error {
	if running(n) {
		fmt.Fprintf(o.Out, "node %s runs already (onode pid %d); nothing to do (otb node restart %s starts it afresh)\n", n.Name, n.PID, n.Name)
		if n.Stopped {
			n.Stopped = false
			return l.save()
		}
		return nil
	}
	onode := filepath.Join(o.BinDir, "onode")
	if _, err := os.Stat(onode); err != nil {
		return fmt.Errorf("onode not found next to otb (%s): run make build", onode)
	}
	all, err := l.deploySteps(ctx)
	if err != nil {
		return err
	}
	plan, err := restartPlan(all, l.Layers, n.Name, l.probe(ctx, n.Name))
	if err != nil {
		return fmt.Errorf("node %s cannot start: %w", n.Name, err)
	}
	start := time.Now()
	if n.Log != "" {
		if f, err := os.OpenFile(n.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err == nil {
			fmt.Fprintf(f, "--- otb node start %s at %s ---\n", n.Name, start.UTC().Format(time.RFC3339))
			f.Close()
		}
	}
	eng, err := engine(ctx, l)
	if err != nil {
		return err
	}
	if eng != nil {
		defer eng.Close()
	}
	if !unanswered(n.Sock, StopGrace) {
		return fmt.Errorf("node %s: something still answers on %s, though the lab's onode of the node is not running; stop it first", n.Name, n.Sock)
	}
	n.Stopped = false
	d := &deployer{l: l, o: o, onode: onode, eng: eng, enrolled: map[string]time.Duration{}}
	defer d.engines().close()
	if err := d.startNode(ctx, &topo.Node{Name: n.Name}); err != nil {
		if n.PID > 0 && running(n) {
			unix.Kill(n.PID, unix.SIGKILL)
			exited(n.PID, StopGrace)
		}
		n.Stopped, n.PID = true, 0 // as it was
		l.save()
		return err
	}
	ids := map[string]uint32{}
	for _, s := range plan.Steps {
		t0 := time.Now()
		if err := d.replay(ctx, s, ids); err != nil {
			return fmt.Errorf("%w\n(the onode of %s runs, but the node is not back whole: otb node restart %s tries again)",
				d.step(s.Node, describe(s), err), n.Name, n.Name)
		}
		if s.Op == OpEnroll {
			d.enrolled[s.Node+"/"+s.IPCP] = time.Since(t0)
		}
		if s.Done != "" {
			fmt.Fprintln(o.Out, s.Done+d.took(s))
		}
	}
	for _, note := range plan.Notes {
		fmt.Fprintln(o.Out, note)
	}
	if !o.NoWait {
		took, err := waitReadyRunning(ctx, l.Name, o, ReadyTimeout)
		if err != nil {
			return err
		}
		fmt.Fprintf(o.Out, "%-10s every layer converged again (%v)\n", "ready", took.Round(time.Millisecond))
	}
	fmt.Fprintf(o.Out, "node %s up in %v\n", n.Name, time.Since(start).Round(time.Millisecond))
	return nil
}

// probe tells which members of which layers are up, asking each running
// node but skip once for its IPCPs.
func (l *Lab) probe(ctx context.Context, skip string) memberUp {
	ipcps := map[string][]*ctl.IPCPInfo{}
	for name, n := range l.Nodes {
		if name == skip || n.Stopped || n.Sock == "" || !running(n) {
			continue
		}
		qctx, cancel := quick(ctx)
		ps, err := ctl.NewClient(n.Sock).IPCPs(qctx)
		cancel()
		if err == nil {
			ipcps[name] = ps
		}
	}
	return func(layer, node string) bool {
		want := topo.IPCPName(layer, node)
		for _, p := range ipcps[node] {
			if p.GetName() == want && p.GetLayer() == layer && ipcp.State(p.GetState()) == ipcp.StateOperational {
				return true
			}
		}
		return false
	}
}

// replay runs one step of a node's start: a deploy step, on the node or a
// neighbour, or a neighbour's disconnect from the node's old onode.
func (d *deployer) replay(ctx context.Context, s Step, ids map[string]uint32) error {
	key := s.Node + "/" + s.IPCP
	if _, ok := ids[key]; !ok && s.IPCP != "" && s.Op != OpCreate {
		qctx, cancel := quick(ctx)
		ps, err := ctl.NewClient(d.l.Nodes[s.Node].Sock).IPCPs(qctx)
		cancel()
		if err != nil {
			return err
		}
		for _, p := range ps {
			if p.GetName() == s.IPCP {
				ids[key] = p.GetId()
			}
		}
	}
	if s.Op != OpDisconnect {
		return d.exec(ctx, s, ids)
	}
	id, ok := ids[key]
	if !ok {
		return fmt.Errorf("no IPCP %s on %s", s.IPCP, s.Node)
	}
	qctx, cancel := quick(ctx)
	defer cancel()
	ctl.NewClient(d.l.Nodes[s.Node].Sock).Disconnect(qctx, id, s.Dst, s.Comp) // none left is fine
	return nil
}
