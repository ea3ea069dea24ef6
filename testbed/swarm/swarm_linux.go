package swarm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/o7s/ouroboros/testbed/docker"
)

// Options of Up.
type Options struct {
	Image string    // copied into every engine ("" for none)
	Out   io.Writer // progress
}

// engineStart bounds how long a new dockerd may take to answer.
const engineStart = 60 * time.Second

// Up makes a swarm of n engines named name, as the package says. On any
// failure it removes what it made and says what went wrong.
func Up(ctx context.Context, name string, n int, o Options) (*Swarm, error) {
	if o.Out == nil {
		o.Out = io.Discard
	}
	if err := CheckName(name); err != nil {
		return nil, err
	}
	if n < 1 || n > MaxEngines {
		return nil, fmt.Errorf("a swarm has 1 to %d engines, not %d", MaxEngines, n)
	}
	if _, err := Load(name); err == nil {
		return nil, fmt.Errorf("swarm %s is up already (otb swarm ls); otb swarm down --name %s first, or give another --name", name, name)
	}
	dockerd, err := exec.LookPath("dockerd")
	if err != nil {
		return nil, errors.New("dockerd is not installed: the swarm's engines are dockerd processes of their own (Debian: apt-get install docker.io)")
	}
	for _, tool := range []string{"ip", "nsenter", "unshare"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("%s is not installed (iproute2, util-linux)", tool)
		}
	}
	local, err := docker.Connect(ctx)
	if err != nil {
		return nil, fmt.Errorf("the machine's engine is where the node image comes from: %w", err)
	}
	defer local.Close()
	if o.Image != "" {
		if err := local.CheckImage(ctx, o.Image); err != nil {
			return nil, err
		}
	}
	driver, err := local.StorageDriver(ctx)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	s := &Swarm{Name: name, Switch: "o7ssw-" + name, Created: time.Now().UTC(), Making: true}
	for k := 1; k <= n; k++ {
		en := fmt.Sprintf("e%d", k)
		s.Engines = append(s.Engines, &Engine{
			Name: en, NS: s.Switch + "-" + en, Addr: fmt.Sprintf("198.19.0.%d", k),
			Sock:     filepath.Join(dir(name), en+".sock"),
			DataRoot: filepath.Join(DataRoot, name, en),
			ExecRoot: filepath.Join(dir(name), en),
			Log:      filepath.Join(dir(name), en+".log"),
		})
	}
	if err := s.save(); err != nil { // what we intend, before making it
		return nil, fmt.Errorf("swarm %s: %w", name, err)
	}
	fail := func(err error) (*Swarm, error) {
		fmt.Fprintf(o.Out, "swarm %s failed; removing what was made\n", name)
		s.remove(context.Background(), io.Discard)
		return nil, err
	}
	if err := s.network(); err != nil {
		return fail(err)
	}
	fmt.Fprintf(o.Out, "%-10s bridge in %s, %d engine namespaces on 198.19.0.0/24\n", "hosts", s.Switch, n)
	for _, e := range s.Engines {
		if err := s.startEngine(dockerd, driver, e); err != nil {
			return fail(err)
		}
	}
	engines := make([]*docker.Engine, len(s.Engines))
	defer func() {
		for _, c := range engines {
			if c != nil {
				c.Close()
			}
		}
	}()
	for i, e := range s.Engines {
		c, err := waitEngine(ctx, e)
		if err != nil {
			return fail(err)
		}
		engines[i] = c
		fmt.Fprintf(o.Out, "%-10s dockerd pid %d, %s\n", e.Name, e.PID, e.Host())
	}
	if err := s.save(); err != nil {
		return fail(err)
	}
	if err := engines[0].SwarmInit(ctx, s.Engines[0].Addr); err != nil {
		return fail(err)
	}
	managers := n >= 3
	token, err := engines[0].JoinToken(ctx, managers)
	if err != nil {
		return fail(err)
	}
	for i, e := range s.Engines[1:] {
		if err := engines[i+1].SwarmJoin(ctx, e.Addr, s.Engines[0].Addr+":2377", token); err != nil {
			return fail(err)
		}
	}
	role := "workers"
	if managers {
		role = "managers"
	}
	fmt.Fprintf(o.Out, "%-10s e1 started it; %d more joined as %s\n", "swarm", n-1, role)
	if o.Image != "" {
		for i, e := range s.Engines {
			t := time.Now()
			if err := local.CopyImage(ctx, o.Image, engines[i]); err != nil {
				return fail(err)
			}
			fmt.Fprintf(o.Out, "%-10s image %s loaded in %v\n", e.Name, o.Image, time.Since(t).Round(time.Millisecond))
		}
	}
	s.Making = false
	if err := s.save(); err != nil {
		return fail(err)
	}
	fmt.Fprintf(o.Out, "swarm %s up in %v: %d engines\n", name, time.Since(start).Round(time.Millisecond), n)
	return s, nil
}

// ip runs ip(8) with args.
func ip(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// network makes the hosts' LAN: the switch namespace with its bridge, and
// each engine's namespace joined to it.
func (s *Swarm) network() error {
	mark := "o7s.swarm=" + s.Name
	steps := [][]string{
		{"netns", "add", s.Switch},
		{"-n", s.Switch, "link", "set", "lo", "alias", mark},
		{"-n", s.Switch, "link", "set", "lo", "up"},
		{"-n", s.Switch, "link", "add", "br0", "mtu", hostMTU, "type", "bridge"},
		{"-n", s.Switch, "link", "set", "br0", "up"},
	}
	for _, e := range s.Engines {
		port := "h" + strings.TrimPrefix(e.Name, "e")
		steps = append(steps,
			[]string{"netns", "add", e.NS},
			[]string{"-n", e.NS, "link", "set", "lo", "alias", mark},
			[]string{"-n", e.NS, "link", "set", "lo", "up"},
			[]string{"-n", s.Switch, "link", "add", port, "mtu", hostMTU, "type", "veth", "peer", "name", "eth0", "netns", e.NS},
			[]string{"-n", s.Switch, "link", "set", port, "master", "br0", "up"},
			[]string{"-n", e.NS, "addr", "add", e.Addr + "/24", "dev", "eth0"},
			[]string{"-n", e.NS, "link", "set", "eth0", "mtu", hostMTU, "up"},
		)
	}
	for _, st := range steps {
		if err := ip(st...); err != nil {
			return err
		}
	}
	return nil
}

// startEngine starts an engine's dockerd in its namespace, with a UTS
// namespace of its own for its host name, detached from otb.
func (s *Swarm) startEngine(dockerd, driver string, e *Engine) error {
	for _, d := range []string{e.DataRoot, e.ExecRoot} {
		if err := os.MkdirAll(d, 0o711); err != nil {
			return err
		}
	}
	conf := filepath.Join(e.ExecRoot, "daemon.json")
	if err := os.WriteFile(conf, fmt.Appendf(nil, `{"storage-driver": %q}`+"\n", driver), 0o644); err != nil {
		return err
	}
	logf, err := os.OpenFile(e.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	os.Remove(e.Sock)
	args := []string{dockerd,
		"--config-file", conf, "--data-root", e.DataRoot, "--exec-root", e.ExecRoot,
		"--pidfile", filepath.Join(e.ExecRoot, "dockerd.pid"), "-H", e.Host(),
		"--iptables=false", "--ip-masq=false", "--bridge=none", "--log-level=warn",
	}
	// nsenter and unshare exec (no fork), and sh execs dockerd after
	// setting the host name: the PID started is dockerd's.
	script := fmt.Sprintf("hostname %s && exec %s", s.Hostname(e), strings.Join(args, " "))
	cmd := exec.Command("nsenter", "--net="+filepath.Join("/run/netns", e.NS), "unshare", "--uts", "sh", "-c", script)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("engine %s: start dockerd: %w", e.Name, err)
	}
	e.PID = cmd.Process.Pid
	go cmd.Wait() // reaped while otb runs; init's once otb exits
	return s.save()
}

// waitEngine waits for an engine to answer on its socket.
func waitEngine(ctx context.Context, e *Engine) (*docker.Engine, error) {
	deadline := time.Now().Add(engineStart)
	for {
		if _, err := os.Stat(e.Sock); err == nil {
			c, err := docker.ConnectHost(ctx, e.Host(), docker.TLS{})
			if err == nil {
				return c, nil
			}
		}
		if !alive(e.PID) { // not ours(): its command line is briefly empty while it execs
			return nil, fmt.Errorf("engine %s: dockerd (pid %d) exited; the end of its log (%s):\n%s", e.Name, e.PID, e.Log, tail(e.Log, 10))
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("engine %s: dockerd (pid %d) did not answer on %s within %v; its log: %s", e.Name, e.PID, e.Sock, engineStart, e.Log)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// ours tells whether the engine's recorded PID is still its dockerd.
func ours(e *Engine) bool {
	if !alive(e.PID) {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", e.PID))
	return err == nil && bytes.Contains(b, []byte(e.ExecRoot))
}

// alive tells whether a process exists and has not exited (a zombie has).
func alive(pid int) bool {
	if pid <= 0 || unix.Kill(pid, 0) != nil {
		return false
	}
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(st, ')')
	return !(i > 0 && len(st) > i+2 && st[i+2] == 'Z')
}

func tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Down removes a swarm: its engines (refused while labs have containers
// in them, unless force), their namespaces, directories and data.
func Down(ctx context.Context, name string, force bool, out io.Writer) error {
	if out == nil {
		out = io.Discard
	}
	s, err := Load(name)
	if err != nil {
		return err
	}
	if !force {
		if labs := s.Labs(ctx); len(labs) > 0 {
			return fmt.Errorf("swarm %s still runs nodes of lab %s: otb destroy %s first (or otb swarm down --force)", name, strings.Join(labs, ", "), labs[0])
		}
	}
	start := time.Now()
	if err := s.remove(ctx, out); err != nil {
		return err
	}
	fmt.Fprintf(out, "swarm %s down in %v (%d engines)\n", name, time.Since(start).Round(time.Millisecond), len(s.Engines))
	return nil
}

// Labs names the labs that have containers in the swarm's engines.
func (s *Swarm) Labs(ctx context.Context) []string {
	seen := map[string]bool{}
	var labs []string
	for _, e := range s.Engines {
		if !ours(e) {
			continue
		}
		c, err := docker.ConnectHost(ctx, e.Host(), docker.TLS{})
		if err != nil {
			continue
		}
		cs, _ := c.LabContainers(ctx, "")
		c.Close()
		for _, x := range cs {
			if !seen[x.Lab] {
				seen[x.Lab] = true
				labs = append(labs, x.Lab)
			}
		}
	}
	return labs
}

// remove takes everything of the swarm away: the engines (their
// containers with them), what they left mounted, the namespaces, the
// directories.
func (s *Swarm) remove(ctx context.Context, out io.Writer) error {
	var errs []error
	for _, e := range s.Engines {
		if ours(e) {
			if c, err := docker.ConnectHost(ctx, e.Host(), docker.TLS{}); err == nil {
				cs, _ := c.LabContainers(ctx, "")
				for _, x := range cs {
					c.Remove(ctx, x.ID)
				}
				c.Close()
			}
		}
	}
	stopped := make([]error, len(s.Engines)) // at once: each takes seconds
	var wg sync.WaitGroup
	for i, e := range s.Engines {
		wg.Go(func() { stopped[i] = stopEngine(e) })
	}
	wg.Wait()
	for i, e := range s.Engines {
		if stopped[i] != nil {
			errs = append(errs, stopped[i])
			continue
		}
		fmt.Fprintf(out, "%-10s stopped\n", e.Name)
	}
	for _, e := range s.Engines {
		unmountUnder(e.ExecRoot)
		unmountUnder(e.DataRoot)
		if err := os.RemoveAll(e.DataRoot); err != nil {
			errs = append(errs, err)
		}
	}
	for _, e := range s.Engines {
		if _, err := os.Stat(filepath.Join("/run/netns", e.NS)); err == nil {
			if err := ip("netns", "del", e.NS); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if _, err := os.Stat(filepath.Join("/run/netns", s.Switch)); err == nil {
		if err := ip("netns", "del", s.Switch); err != nil {
			errs = append(errs, err)
		}
	}
	os.Remove(filepath.Join(DataRoot, s.Name))
	if len(errs) == 0 {
		if err := os.RemoveAll(dir(s.Name)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// stopEngine stops an engine's dockerd by its PID (SIGTERM: it stops its
// containers; SIGKILL after 30 s), then whatever its containerd left
// (shims, found by the engine's exec root in their command lines).
func stopEngine(e *Engine) error {
	if ours(e) {
		unix.Kill(e.PID, unix.SIGTERM)
		deadline := time.Now().Add(30 * time.Second)
		for ours(e) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if ours(e) {
			unix.Kill(e.PID, unix.SIGKILL)
			time.Sleep(100 * time.Millisecond)
		}
	}
	for _, pid := range procsNaming(e.ExecRoot) {
		unix.Kill(pid, unix.SIGKILL)
	}
	if ours(e) {
		return fmt.Errorf("engine %s: dockerd (pid %d) does not stop", e.Name, e.PID)
	}
	return nil
}

// procsNaming lists the processes whose command line contains s.
func procsNaming(s string) []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, d := range ents {
		var pid int
		if _, err := fmt.Sscanf(d.Name(), "%d", &pid); err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		if err == nil && bytes.Contains(b, []byte(s)) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// unmountUnder lazily unmounts every mount point below dir, deepest first
// (an engine killed hard leaves its containers' layers and namespaces
// mounted).
func unmountUnder(dir string) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return
	}
	var points []string
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) > 4 && (f[4] == dir || strings.HasPrefix(f[4], dir+"/")) {
			points = append(points, f[4])
		}
	}
	for i := len(points) - 1; i >= 0; i-- {
		unix.Unmount(points[i], unix.MNT_DETACH)
	}
}

// find loads a swarm and finds one of its engines.
func find(name, engine string) (*Swarm, *Engine, error) {
	s, err := Load(name)
	if err != nil {
		return nil, nil, err
	}
	e, err := s.Engine(engine)
	return s, e, err
}

// Stop stops one engine of a swarm (its dockerd, and with it its
// containers), as a host that goes down; Start starts it again.
func Stop(ctx context.Context, name, engine string) (*Engine, error) {
	s, e, err := find(name, engine)
	if err != nil {
		return nil, err
	}
	if !ours(e) {
		return e, fmt.Errorf("engine %s of swarm %s is not running", e.Name, name)
	}
	if err := stopEngine(e); err != nil {
		return e, err
	}
	unmountUnder(e.ExecRoot)
	e.Stopped = true
	return e, s.save()
}

// Start starts a stopped engine again and waits for it to answer.
func Start(ctx context.Context, name, engine string) (*Engine, error) {
	s, e, err := find(name, engine)
	if err != nil {
		return nil, err
	}
	if ours(e) {
		return e, fmt.Errorf("engine %s of swarm %s runs already (pid %d)", e.Name, name, e.PID)
	}
	dockerd, err := exec.LookPath("dockerd")
	if err != nil {
		return e, err
	}
	local, err := docker.Connect(ctx)
	if err != nil {
		return e, err
	}
	driver, err := local.StorageDriver(ctx)
	local.Close()
	if err != nil {
		return e, err
	}
	if err := s.startEngine(dockerd, driver, e); err != nil {
		return e, err
	}
	c, err := waitEngine(ctx, e)
	if err != nil {
		return e, err
	}
	c.Close()
	e.Stopped = false
	return e, s.save()
}

// EngineStatus is what Status says of one engine.
type EngineStatus struct {
	*Engine
	Running bool
	Swarm   string // its swarm state as it says (active, pending, ...), or why not known
	Manager bool
	Labs    []string
}

// Status asks each engine of a swarm how it is.
func Status(ctx context.Context, name string) (*Swarm, []EngineStatus, error) {
	s, err := Load(name)
	if err != nil {
		return nil, nil, err
	}
	var st []EngineStatus
	for _, e := range s.Engines {
		es := EngineStatus{Engine: e, Running: ours(e), Swarm: "stopped"}
		if es.Running {
			c, err := docker.ConnectHost(ctx, e.Host(), docker.TLS{})
			if err != nil {
				es.Swarm = "no answer"
			} else {
				if ss, err := c.Swarm(ctx); err == nil {
					es.Swarm, es.Manager = ss.State, ss.Manager
				}
				cs, _ := c.LabContainers(ctx, "")
				for _, x := range cs {
					if !slices.Contains(es.Labs, x.Lab) {
						es.Labs = append(es.Labs, x.Lab)
					}
				}
				c.Close()
			}
		}
		st = append(st, es)
	}
	return s, st, nil
}

// LoadImage copies an image from the machine's engine into every running
// engine of the swarm.
func LoadImage(ctx context.Context, name, ref string, out io.Writer) error {
	s, err := Load(name)
	if err != nil {
		return err
	}
	local, err := docker.Connect(ctx)
	if err != nil {
		return err
	}
	defer local.Close()
	for _, e := range s.Engines {
		if !ours(e) {
			fmt.Fprintf(out, "%-10s stopped: not loaded\n", e.Name)
			continue
		}
		c, err := docker.ConnectHost(ctx, e.Host(), docker.TLS{})
		if err != nil {
			return err
		}
		t := time.Now()
		err = local.CopyImage(ctx, ref, c)
		c.Close()
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%-10s swarm %s: %s loaded in %v\n", e.Name, name, ref, time.Since(t).Round(time.Millisecond))
	}
	return nil
}
