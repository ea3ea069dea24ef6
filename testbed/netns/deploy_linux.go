package netns

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/o7s/ouroboros/stack/ctl"
	"github.com/o7s/ouroboros/stack/errs"
	"github.com/o7s/ouroboros/stack/qos"
	"github.com/o7s/ouroboros/testbed/docker"
	"github.com/o7s/ouroboros/testbed/topo"
)

// Options configure a runtime.
type Options struct {
	Root   string    // lab directories; DefaultRoot when empty
	BinDir string    // where onode is; the directory of the running program when empty
	Out    io.Writer // progress; nil for none
	// NoWait: a deploy does not wait for its layers to be ready (Ready).
	NoWait bool
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
	unlock, err := lockLab(o.Root, t.Name)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if old, err := LoadLab(o.Root, t.Name); err == nil {
		if old.Deploying {
			return nil, fmt.Errorf("lab %s is half made: a deploy of it stopped before it finished; run 'otb destroy %s' (or otb gc) first", t.Name, t.Name)
		}
		if err := Healthy(old); err != nil {
			return nil, fmt.Errorf("lab %s exists but is not healthy (%v): run 'otb destroy %s' first", t.Name, err, t.Name)
		}
		oldSteps, err := old.deploySteps(ctx)
		if err != nil {
			return nil, err
		}
		diff, nl, err := PlanReconcile(old, oldSteps, t, o.Root)
		if err != nil {
			return nil, fmt.Errorf("lab %s is up, and the file asks for changes it cannot make in place:\n%w", t.Name, err)
		}
		if diff.Empty() {
			fmt.Fprintf(o.Out, "lab %s is up already; nothing to do\n", t.Name)
			return old, nil
		}
		fmt.Fprintf(o.Out, "lab %s is up; changing it:\n", t.Name)
		diff.Print(o.Out, false)
		if err := CheckImpairments(t); err != nil {
			return nil, err
		}
		l, err := reconcile(ctx, old, t, diff, nl, o)
		if err != nil {
			return nil, fmt.Errorf("%w\n(the lab is part changed: deploy the file again, or destroy it)", err)
		}
		return l, nil
	}
	if err := fits(t); err != nil {
		return nil, err
	}
	if err := CheckImpairments(t); err != nil {
		return nil, err
	}
	eng, err := checkDocker(ctx, t)
	if err != nil {
		return nil, err
	}
	if eng != nil {
		defer eng.Close()
	}
	onode := filepath.Join(o.BinDir, "onode")
	if _, err := os.Stat(onode); err != nil {
		return nil, fmt.Errorf("onode not found next to otb (%s): run make build", onode)
	}
	l := plan(t, o.Root)
	l.Deploying = true
	if err := l.save(); err != nil { // what we intend, before making it
		return nil, fmt.Errorf("lab directory: %w", err)
	}
	if err := saveSteps(l.Dir, Steps(t)); err != nil { // for otb node start
		return nil, fmt.Errorf("lab directory: %w", err)
	}
	d := &deployer{t: t, l: l, o: o, onode: onode, eng: eng, enrolled: map[string]time.Duration{}}
	if err := d.run(ctx); err != nil {
		fmt.Fprintf(o.Out, "deploy failed; removing what was made\n")
		destroy(t.Name, o)
		return nil, err
	}
	l.Deploying = false
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
		if n.Runtime == topo.RuntimeDocker { // its log is its container's output
			ns.Runtime, ns.Log = topo.RuntimeDocker, ""
			ns.Container, ns.Holder = docker.NodeName(t.Name, n.Name), docker.HolderName(t.Name, n.Name)
			ns.Image, ns.CPUs, ns.Memory = n.Image, n.CPUs, n.Memory
		}
		if n.Foreign() { // no socket of ours: its steps are its profile's commands
			ns.Impl, ns.Sock = n.Profile, ""
		}
		l.Nodes[n.Name] = ns
	}
	for i, lk := range t.Links {
		ls := LinkState{ID: lk.ID(), Type: lk.Type, Bridge: lk.Bridge, MTU: lk.MTU, Impair: lk.Impair, Relay: planRelay(t.Name, l.Dir, i, lk)}
		for _, e := range lk.Endpoints {
			end := LinkEnd{Node: e.Node, NS: NSName(t.Name, e.Node), Iface: e.Iface}
			if e.Addr.IsValid() {
				end.Addr = e.Addr.String()
			}
			ls.Ends = append(ls.Ends, end)
			if lk.Type == topo.LinkBridge {
				ls.Ports = append(ls.Ports, LinkEnd{Node: lk.Bridge, NS: NSName(t.Name, lk.Bridge), Iface: bridgePort(e)})
			}
		}
		l.Links = append(l.Links, ls)
	}
	for _, ly := range t.Layers {
		ls := LayerState{Name: ly.Name, Type: ly.Type, Link: ly.Link, IPCPs: map[string]string{}}
		for _, m := range ly.Members {
			ls.IPCPs[m] = topo.IPCPName(ly.Name, m)
		}
		if ly.Upper() {
			for _, s := range ly.Steps {
				ls.Members = append(ls.Members, s.Node)
			}
			ls.Lower = ly.Lower
		}
		l.Layers = append(l.Layers, ls)
	}
	l.Tunnels = TunnelStates(t, l.Dir)
	return l
}

type deployer struct {
	t        *topo.Topology
	l        *Lab
	o        Options
	onode    string
	eng      *docker.Engine           // when the lab has docker nodes
	enrolled map[string]time.Duration // node "/" IPCP -> how long it took
}

func (d *deployer) step(node, what string, err error) error {
	if err == nil {
		return nil
	}
	se := &StepError{Node: node, Step: what, Err: err}
	se.LogTail = d.l.logTail(context.Background(), d.eng, node, 10)
	return se
}

func (d *deployer) run(ctx context.Context) error {
	start := time.Now()
	containers := 0
	for _, n := range d.t.Nodes {
		if n.Runtime == topo.RuntimeDocker {
			if err := d.holder(ctx, n); err != nil {
				return err
			}
			containers++
			continue
		}
		if err := createNS(d.l.Nodes[n.Name].NS, d.t.Name); err != nil {
			return d.step(n.Name, "create namespace", err)
		}
		if n.Kind == topo.KindBridge {
			if err := addBridge(d.t.Name, d.l.Nodes[n.Name].NS); err != nil {
				return d.step(n.Name, "create bridge", err)
			}
		}
	}
	if containers > 0 {
		fmt.Fprintf(d.o.Out, "%-10s %d namespaces, %d of them in containers\n", "netns", len(d.t.Nodes), containers)
	} else {
		fmt.Fprintf(d.o.Out, "%-10s %d namespaces\n", "netns", len(d.t.Nodes))
	}
	for _, lk := range d.t.Links {
		if err := d.link(lk); err != nil {
			return err
		}
	}
	fmt.Fprintf(d.o.Out, "%-10s %d links\n", "links", len(d.t.Links))
	impaired := 0
	for i, lk := range d.t.Links {
		if !lk.Impaired() {
			continue
		}
		if err := applyImpair(d.t.Name, d.l.Links[i], lk.Impair); err != nil {
			return d.step(lk.Endpoints[0].Node, "impair link "+lk.ID(), err)
		}
		impaired++
	}
	if impaired > 0 {
		fmt.Fprintf(d.o.Out, "%-10s %d links impaired\n", "impair", impaired)
	}
	if err := d.ipSetup(); err != nil {
		return err
	}
	for _, n := range d.t.Nodes {
		if n.Kind != topo.KindNode {
			continue
		}
		if err := d.startNode(ctx, n); err != nil {
			return err
		}
	}
	if err := d.steps(ctx); err != nil {
		return err
	}
	if !d.o.NoWait {
		took, err := WaitReady(ctx, d.t.Name, d.o, ReadyTimeout)
		if err != nil {
			return err
		}
		fmt.Fprintf(d.o.Out, "%-10s every layer converged (%v)\n", "ready", took.Round(time.Millisecond))
	}
	if err := d.startTunnels(ctx); err != nil {
		return err
	}
	if err := d.waitDAD(ctx); err != nil {
		return err
	}
	fmt.Fprintf(d.o.Out, "lab %s up in %v\n", d.t.Name, time.Since(start).Round(time.Millisecond))
	return nil
}

func (d *deployer) link(lk *topo.Link) error {
	ep := lk.Endpoints
	switch lk.Type {
	case topo.LinkVeth, topo.LinkUDP:
		if r := d.l.relayOf(lk.ID()); r != nil {
			return d.step(ep[0].Node, "link "+lk.ID()+" through a relay", d.relayLink(lk, r))
		}
		a := vethEnd{NS: d.l.Nodes[ep[0].Node].NS, Iface: ep[0].Iface, MTU: lk.MTU, Addr: ep[0].Addr}
		b := vethEnd{NS: d.l.Nodes[ep[1].Node].NS, Iface: ep[1].Iface, MTU: lk.MTU, Addr: ep[1].Addr}
		return d.step(ep[0].Node, "link "+lk.ID(), addVeth(d.t.Name, a, b))
	case topo.LinkBridge:
		for _, e := range ep {
			if err := d.lanPort(lk, e); err != nil {
				return err
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

// nodeProcs caps the Ps (GOMAXPROCS) of a lab's onodes in namespaces.
// Each P holds memory of its own, about 150 KiB in an idle node (measured
// with 1, 2 and 8), and the nodes of a lab share the machine's cores
// anyway: on a machine with 64 cores a lab's nodes would each hold some
// 9 MiB more for nothing. A docker node's Go runtime follows its
// container's CPU limit (cpus:) instead.
const nodeProcs = 4

// onodeEnv is what a lab's onode in a namespace has in its environment
// besides otb's: its socket, and GOMAXPROCS=nodeProcs on a machine with
// more cores, unless otb's environment (getenv) sets GOMAXPROCS, which
// the node then inherits.
func onodeEnv(sock string, getenv func(string) string, cpus int) []string {
	env := []string{"OUROBOROS_SOCK=" + sock}
	if getenv("GOMAXPROCS") == "" && cpus > nodeProcs {
		env = append(env, "GOMAXPROCS="+strconv.Itoa(nodeProcs))
	}
	return env
}

func (d *deployer) startNode(ctx context.Context, n *topo.Node) error {
	ns := d.l.Nodes[n.Name]
	if ns.Foreign() {
		return d.startForeign(ctx, n.Name)
	}
	if err := os.MkdirAll(filepath.Dir(ns.Sock), 0o755); err != nil {
		return d.step(n.Name, "node directory", err)
	}
	// Each node has a security directory of its own in the lab: the
	// names' enc.conf files (server/<name>/enc.conf, client/<name>/...).
	sec := filepath.Join(filepath.Dir(ns.Sock), "security")
	var pid int
	var exited <-chan struct{}
	var err error
	if ns.Runtime == topo.RuntimeDocker {
		pid, err = d.startContainer(ctx, n.Name)
		wctx, stop := context.WithCancel(ctx)
		defer stop()
		exited = d.watchContainer(wctx, n.Name)
	} else {
		pid, exited, err = startDetached(ns.NS, ns.Log, onodeEnv(ns.Sock, os.Getenv, runtime.NumCPU()), d.onode, "--sock", ns.Sock, "--security-dir", sec)
	}
	if err != nil {
		return d.step(n.Name, "start onode", err)
	}
	ns.PID = pid
	if err := d.l.save(); err != nil {
		return d.step(n.Name, "record onode", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		qctx, cancel := quick(ctx)
		_, err := ctl.NewClient(ns.Sock).IPCPs(qctx)
		cancel()
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
	if ns.Runtime == topo.RuntimeDocker {
		fmt.Fprintf(d.o.Out, "%-10s onode pid %d in container %s\n", n.Name, pid, ns.Container)
	} else {
		fmt.Fprintf(d.o.Out, "%-10s onode pid %d\n", n.Name, pid)
	}
	return nil
}

// callTimeout bounds one request of a deploy or an inspect that does not
// wait for the layer.
const callTimeout = 10 * time.Second

func quick(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, callTimeout)
}

// steps runs the deploy steps (Steps) in order.
func (d *deployer) steps(ctx context.Context) error {
	ids := map[string]uint32{} // node "/" IPCP name -> IPCP id
	for _, s := range Steps(d.t) {
		start := time.Now()
		if err := d.exec(ctx, s, ids); err != nil {
			return d.step(s.Node, s.String(), err)
		}
		if s.Op == OpEnroll {
			d.enrolled[s.Node+"/"+s.IPCP] = time.Since(start)
		}
		if s.Done != "" {
			fmt.Fprintln(d.o.Out, s.Done+d.took(s))
		}
	}
	return nil
}

// took says how long a member's enrollment took, for the progress line
// that ends its steps.
func (d *deployer) took(s Step) string {
	if t, ok := d.enrolled[s.Node+"/"+s.IPCP]; ok && (s.Op == OpConnect || s.Op == OpEnroll) {
		return fmt.Sprintf(" (enrolled in %v)", t.Round(time.Millisecond))
	}
	return ""
}

// NodeMemory is what one node is reckoned to take, to refuse up front a
// lab the machine cannot hold: its onode's own memory and the kernel's for
// its namespace, sockets and threads, as MemAvailable grows when a lab is
// destroyed. That was about 4.5 MiB a node in a 20-node ring and 6 MiB in
// a 100-node ring, whose layer holds more (in a 300-node random graph the
// onodes had 6 MiB of their own on average, the kernel's besides); the
// rest is room for bigger layers, busier nodes and nodes with many links.
// An onode's RSS is 8 MiB more: its code, which is in memory once for all
// the nodes.
const NodeMemory = 8 << 20

// fits refuses a topology whose nodes would need more memory than the
// machine has available now.
func fits(t *topo.Topology) error {
	nodes := 0
	for _, n := range t.Nodes {
		if n.Kind == topo.KindNode {
			nodes++
		}
	}
	avail, err := memAvailable()
	if err != nil {
		return nil // no estimate to go by: try
	}
	if need := uint64(nodes) * NodeMemory; need > avail {
		return fmt.Errorf("lab %s has %d nodes, which need about %d MiB (%d MiB each), and this machine has %d MiB available; deploy fewer nodes, or free memory",
			t.Name, nodes, need>>20, NodeMemory>>20, avail>>20)
	}
	return nil
}

// memAvailable is MemAvailable of /proc/meminfo, in bytes.
func memAvailable() (uint64, error) {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "MemAvailable:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no MemAvailable in /proc/meminfo")
}

// ReadyTimeout bounds a deploy's wait for its layers to converge (see
// Ready) once every step is done.
const ReadyTimeout = time.Minute

// Timeouts of the steps that wait for the layer: enrollment and
// adjacencies go through lower layers whose directories may still be
// filling, so they are tried again until these run out.
const (
	enrollTimeout   = 30 * time.Second
	connectTimeout  = 20 * time.Second
	registerTimeout = 10 * time.Second
)

func (d *deployer) exec(ctx context.Context, s Step, ids map[string]uint32) error {
	if d.l.Nodes[s.Node].Foreign() {
		return d.execForeign(ctx, s)
	}
	node := ctl.NewClient(d.l.Nodes[s.Node].Sock)
	var id uint32
	if s.IPCP != "" && s.Op != OpCreate {
		v, ok := ids[s.Node+"/"+s.IPCP]
		if !ok {
			return fmt.Errorf("no IPCP %s on %s", s.IPCP, s.Node)
		}
		id = v
	}
	qctx, cancel := quick(ctx)
	defer cancel()
	switch s.Op {
	case OpCreate:
		v, err := node.CreateIPCP(qctx, s.IPCP, s.Type)
		if err != nil {
			return err
		}
		ids[s.Node+"/"+s.IPCP] = v
		return nil
	case OpName:
		return node.CreateName(qctx, s.Name, ctl.Spillover)
	case OpBootstrap:
		if s.Conf == nil {
			return fmt.Errorf("no configuration to bootstrap %s with", s.IPCP)
		}
		return node.Bootstrap(qctx, id, s.Type, *s.Conf)
	case OpBind:
		return node.BindIPCP(qctx, id, s.Name)
	case OpRegister:
		return retry(ctx, registerTimeout, func(ctx context.Context) error { return node.Register(ctx, s.Name, id) })
	case OpEnroll:
		return retry(ctx, enrollTimeout, func(ctx context.Context) error { return node.Enroll(ctx, id, s.Dst) })
	case OpConnect:
		spec := qos.Raw
		if s.QoS != "" {
			var ok bool
			if spec, ok = qos.ByName(s.QoS); !ok {
				return fmt.Errorf("unknown QoS %q", s.QoS)
			}
		}
		return retry(ctx, connectTimeout, func(ctx context.Context) error { return node.Connect(ctx, id, s.Dst, s.Comp, spec) })
	}
	return fmt.Errorf("unknown step %q", s.Op)
}

// retry calls fn until it succeeds, fails for good, or limit has passed;
// fn's context ends when limit has passed.
func retry(ctx context.Context, limit time.Duration, fn func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	wait := 100 * time.Millisecond
	for {
		err := fn(ctx)
		if err == nil || permanent(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
}

// permanent tells errors that trying again will not mend.
func permanent(err error) bool {
	for _, e := range []error{errors.ErrUnsupported, errs.ErrIPCPType, errs.ErrInvalid, errs.ErrNode, context.Canceled} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
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
		if ns.Kind == topo.KindNode && ns.Stopped {
			return fmt.Errorf("node %s is stopped (otb node start %s)", name, name)
		}
		if ns.Kind == topo.KindNode && !alive(ns.PID, ns.NS) {
			return fmt.Errorf("onode of %s (pid %d) is not running", name, ns.PID)
		}
	}
	for _, ls := range l.Links {
		if r := ls.Relay; r != nil && !relayAlive(r) {
			return fmt.Errorf("the relay of link %s (pid %d in %s) is not running", ls.ID, r.PID, r.NS)
		}
	}
	return tunnelsHealthy(l)
}

// Fill sets the options left empty to their defaults (BinDir: the
// directory of the running program).
func (o *Options) Fill() { o.fill() }
