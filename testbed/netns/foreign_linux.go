package netns

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/o7s/ouroboros/testbed/docker"
)

// Nodes of other implementations (topo: impl:), run and driven through
// their profile (testbed/profiles). Such a node is a docker node whose
// container runs the profile's daemon instead of onode, in the holder's
// network namespace like any docker node, so links, impairments and
// captures treat it as any other. It has no control socket of ours:
//
//   - deploy runs its steps as the profile's commands (docker exec), the
//     steps that wait for the layer (register, enroll, connect) tried
//     again until the ctl path's limits run out, a failure reported with
//     the command and its output;
//   - it is up once its container runs and the profile's ready command
//     exits 0; inspect shows that, and the output of the profile's status
//     command, but no IPCPs, names or flows;
//   - readiness counts its IPCPs as enrolled once it is up (their state is
//     not asked), and checks our members' adjacencies and routes to them;
//   - otb exec runs a tool by the profile's path for it; otb logs shows the
//     daemon's output; otb node stop/start/restart are for onode only.

// foreignReadyTimeout bounds the wait for a daemon to answer after start.
const foreignReadyTimeout = 15 * time.Second

// startForeign creates and starts a foreign node's container and waits
// for its profile's ready command to succeed.
func (d *deployer) startForeign(ctx context.Context, name string) error {
	ns := d.l.Nodes[name]
	dir := filepath.Join(d.l.Dir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return d.step(name, "node directory", err)
	}
	files := map[string]string{}
	if lines := hostsLines(ns.Impl, Steps(d.t), name); len(lines) > 0 {
		hosts := filepath.Join(dir, "hosts")
		if err := os.WriteFile(hosts, hostsFile(lines), 0o644); err != nil {
			return d.step(name, "hosts file", err)
		}
		files[hosts] = "/etc/hosts"
	}
	id, err := d.eng.CreateNode(ctx, docker.NodeSpec{
		Lab: d.l.Name, Node: name, Image: ns.image(), Holder: ns.Holder, Dir: dir,
		Entrypoint: ns.Impl.Daemon.Words(), ShmSize: ns.Impl.Shm, Files: files,
		NanoCPUs: int64(ns.CPUs * 1e9), Memory: ns.Memory,
	})
	if err != nil {
		return d.step(name, "create container", err)
	}
	pid, err := d.eng.Start(ctx, id)
	if err != nil {
		return d.step(name, "start "+ns.Impl.Name+" daemon", err)
	}
	ns.PID = pid
	if err := d.l.save(); err != nil {
		return d.step(name, "record its daemon", err)
	}
	ready := ns.Impl.Ready.Words()
	deadline := time.Now().Add(foreignReadyTimeout)
	for {
		code, out, err := foreignRun(ctx, d.eng, ns.Container, ready, 5*time.Second)
		if err == nil && code == 0 {
			break
		}
		if d.containerExited(ctx, name) {
			return d.step(name, "start "+ns.Impl.Name+" daemon", errors.New("its container exited"))
		}
		if time.Now().After(deadline) {
			return d.step(name, "start "+ns.Impl.Name+" daemon", fmt.Errorf("%q did not succeed within %v: %s", strings.Join(ready, " "), foreignReadyTimeout, outcome(code, out, err)))
		}
		time.Sleep(100 * time.Millisecond)
	}
	fmt.Fprintf(d.o.Out, "%-10s %s pid %d in container %s (impl %s)\n", name, ns.Impl.Daemon.Words()[0], pid, ns.Container, ns.Impl.Name)
	return nil
}

// hostsFile is an /etc/hosts with localhost and lines.
func hostsFile(lines []string) []byte {
	var b bytes.Buffer
	b.WriteString("127.0.0.1 localhost\n::1 localhost\n")
	for _, l := range lines {
		b.WriteString(l + "\n")
	}
	return b.Bytes()
}

// execForeign does a step on a foreign node: its profile's command, in
// its container.
func (d *deployer) execForeign(ctx context.Context, s Step) error {
	ns := d.l.Nodes[s.Node]
	cmds, err := ForeignCommands(ns.Impl, s)
	if err != nil {
		return err
	}
	run := func(ctx context.Context) error {
		for _, argv := range cmds {
			limit := callTimeout
			if dl, ok := ctx.Deadline(); ok {
				limit = time.Until(dl)
			}
			code, out, err := foreignRun(ctx, d.eng, ns.Container, argv, limit)
			if err != nil || code != 0 {
				return fmt.Errorf("%s: %s", strings.Join(argv, " "), outcome(code, out, err))
			}
		}
		return nil
	}
	switch s.Op {
	case OpRegister:
		return retry(ctx, registerTimeout, run)
	case OpEnroll:
		return retry(ctx, enrollTimeout, run)
	case OpConnect:
		return retry(ctx, connectTimeout, run)
	}
	qctx, cancel := quick(ctx)
	defer cancel()
	return run(qctx)
}

// outcome says how a command ended, with its output.
func outcome(code int, out string, err error) string {
	if err != nil {
		return err.Error()
	}
	out = strings.TrimSpace(out)
	if out == "" {
		return fmt.Sprintf("exit status %d, no output", code)
	}
	return fmt.Sprintf("exit status %d: %s", code, out)
}

// foreignRun runs argv in a container and returns its exit status and
// output; a command still running after limit is killed (by its PID).
func foreignRun(ctx context.Context, eng *docker.Engine, container string, argv []string, limit time.Duration) (int, string, error) {
	var out bytes.Buffer
	sigs := make(chan os.Signal, 1)
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-done:
		case <-ctx.Done():
			sigs <- unix.SIGKILL
		case <-time.After(limit):
			sigs <- unix.SIGKILL
		}
	}()
	code, err := eng.Exec(context.WithoutCancel(ctx), container, argv, docker.ExecOptions{
		Stdout: &out, Stderr: &out, Signals: sigs,
		Kill: func(pid int, sig os.Signal) { unix.Kill(pid, sig.(unix.Signal)) },
	})
	return code, out.String(), err
}

// foreignUp tells whether a foreign node is up: its container runs and its
// profile's ready command succeeds; if not, why.
func foreignUp(ctx context.Context, eng *docker.Engine, n *NodeState) (bool, string) {
	if eng == nil {
		return false, "no Docker engine to ask"
	}
	st, err := eng.State(ctx, n.Container)
	if err != nil {
		return false, err.Error()
	}
	if !st.Running {
		return false, "its container " + n.Container + " is " + st.Status
	}
	code, out, err := foreignRun(ctx, eng, n.Container, n.Impl.Ready.Words(), 5*time.Second)
	if err != nil || code != 0 {
		return false, fmt.Sprintf("%q: %s", n.Impl.Ready, outcome(code, out, err))
	}
	return true, ""
}

// foreignStatus is the output of a foreign node's status command.
func foreignStatus(ctx context.Context, eng *docker.Engine, n *NodeState) string {
	argv := n.Impl.Status.Words()
	if eng == nil || len(argv) == 0 {
		return ""
	}
	code, out, err := foreignRun(ctx, eng, n.Container, argv, 5*time.Second)
	if err != nil || code != 0 {
		return fmt.Sprintf("%q: %s", n.Impl.Status, outcome(code, out, err))
	}
	return strings.TrimRight(out, "\n")
}
