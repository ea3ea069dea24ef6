// Package docker is the testbed's link to a Docker Engine: the node image
// built FROM scratch from the project's static binaries, and the
// containers of docker nodes (a holder container that keeps the node's
// network namespace, and the node container that runs onode in it), found
// again by their labels.
//
// It uses github.com/moby/moby/client, the maintained successor of
// github.com/docker/docker/client (frozen at v28), which negotiates the API
// version with the engine (1.41 with Engine 20.10).
package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"

	"github.com/o7s/ouroboros/internal/version"
)

// Labels: the ownership markers of every container the testbed makes.
const (
	LabelLab  = "o7s.lab"  // the lab's name
	LabelNode = "o7s.node" // the node's name
	LabelRole = "o7s.role" // RoleHolder or RoleNode
)

// Container roles.
const (
	RoleHolder = "netns" // holds the node's network namespace (opause)
	RoleNode   = "node"  // runs onode in the holder's namespace
)

// Repo is the repository of the testbed's node image.
const Repo = "o7s/node"

// DefaultImage is the node image of this build: Repo tagged with the
// version otb reports, so that nodes run the binaries of the otb that made
// them (make image builds it).
func DefaultImage() string { return Repo + ":" + Tag(version.Version) }

// Tag makes a version usable as an image tag ([A-Za-z0-9_.-], at most 128).
func Tag(v string) string {
	b := []byte(v)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			b[i] = '-'
		}
	}
	if len(b) > 128 {
		b = b[:128]
	}
	if len(b) == 0 || b[0] == '.' || b[0] == '-' {
		b = append([]byte("v"), b...)
	}
	return string(b)
}

// Engine is a connection to a Docker Engine.
type Engine struct {
	c *client.Client
}

// Connect reaches the engine named by DOCKER_HOST (the local socket by
// default) and negotiates the API version, or says clearly why not.
func Connect(ctx context.Context) (*Engine, error) {
	return dial(ctx, ": start dockerd, or set DOCKER_HOST; nodes with runtime: docker need one", client.FromEnv)
}

// dial makes a client with opts and asks the engine for its API version;
// hint follows the error when it does not answer.
func dial(ctx context.Context, hint string, opts ...client.Opt) (*Engine, error) {
	c, err := client.New(append(opts, client.WithUserAgent("otb/"+version.Version))...)
	if err != nil {
		return nil, fmt.Errorf("docker: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	if _, err := c.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		c.Close()
		return nil, fmt.Errorf("no Docker engine answers at %s (%v)%s", c.DaemonHost(), err, hint)
	}
	return &Engine{c: c}, nil
}

// Close releases the connection.
func (e *Engine) Close() error { return e.c.Close() }

// Host is where the engine was reached.
func (e *Engine) Host() string { return e.c.DaemonHost() }

// ErrNoImage is returned for an image the engine does not have.
var ErrNoImage = errors.New("image not found")

// CheckImage says whether the engine has the image, naming what to do if
// it has not.
func (e *Engine) CheckImage(ctx context.Context, ref string) error {
	_, err := e.c.ImageInspect(ctx, ref)
	switch {
	case err == nil:
		return nil
	case cerrdefs.IsNotFound(err):
		hint := "build it with make image (or otb image)"
		if !strings.HasPrefix(ref, Repo+":") {
			hint = "build or load it into this engine (no image can be pulled here)"
		}
		return fmt.Errorf("%w: %s is not in the Docker engine at %s: %s", ErrNoImage, ref, e.Host(), hint)
	default:
		return fmt.Errorf("docker: image %s: %w", ref, err)
	}
}

// ImageSize is the image's size in bytes.
func (e *Engine) ImageSize(ctx context.Context, ref string) (int64, error) {
	r, err := e.c.ImageInspect(ctx, ref)
	if err != nil {
		return 0, err
	}
	return r.Size, nil
}

// Names of a lab's containers.
func HolderName(lab, node string) string { return "o7s-" + lab + "-" + node + "-ns" }
func NodeName(lab, node string) string   { return "o7s-" + lab + "-" + node }

func labels(lab, node, role string) map[string]string {
	return map[string]string{LabelLab: lab, LabelNode: node, LabelRole: role}
}

// RunHolder creates and starts a node's holder container: network mode
// none, running opause from image (the testbed's). It returns the
// container's ID and the host PID of its process, whose network namespace
// is the node's.
func (e *Engine) RunHolder(ctx context.Context, lab, node, image string) (id string, pid int, err error) {
	r, err := e.c.ContainerCreate(ctx, client.ContainerCreateOptions{
		Name: HolderName(lab, node),
		Config: &container.Config{
			Image:      image,
			Hostname:   node,
			Entrypoint: []string{"opause"},
			Labels:     labels(lab, node, RoleHolder),
		},
		HostConfig: &container.HostConfig{NetworkMode: "none", AutoRemove: false},
	})
	if err != nil {
		return "", 0, fmt.Errorf("create container %s: %w", HolderName(lab, node), err)
	}
	pid, err = e.Start(ctx, r.ID)
	return r.ID, pid, err
}

// NodeSpec is a node container.
type NodeSpec struct {
	Lab, Node string
	Image     string
	Holder    string   // the holder's ID: the node joins its network namespace
	Dir       string   // the node's lab directory, mounted at the same path
	Env       []string // KEY=VALUE
	Cmd       []string // onode's arguments
	NanoCPUs  int64
	Memory    int64
	// Another implementation's node: Entrypoint is its daemon's command
	// (nil: onode), ShmSize the size of its /dev/shm (0: the engine's
	// default), Files extra files bind-mounted read-only, host path ->
	// path in the container (its /etc/hosts).
	Entrypoint []string
	ShmSize    int64
	Files      map[string]string
}

// CreateNode creates a node container (not started): onode, found on the
// image's PATH, in the holder's network namespace, with the node's lab
// directory (its control socket, its security directory) mounted at the
// same path, NET_ADMIN and NET_RAW for its shims, and the limits.
func (e *Engine) CreateNode(ctx context.Context, s NodeSpec) (string, error) {
	entry := s.Entrypoint
	if entry == nil {
		entry = []string{"onode"}
	}
	mounts := []mount.Mount{{Type: mount.TypeBind, Source: s.Dir, Target: s.Dir}}
	for _, host := range sortedKeys(s.Files) {
		mounts = append(mounts, mount.Mount{Type: mount.TypeBind, Source: host, Target: s.Files[host], ReadOnly: true})
	}
	r, err := e.c.ContainerCreate(ctx, client.ContainerCreateOptions{
		Name: NodeName(s.Lab, s.Node),
		Config: &container.Config{
			Image:      s.Image,
			Entrypoint: entry,
			Cmd:        s.Cmd,
			Env:        s.Env,
			Labels:     labels(s.Lab, s.Node, RoleNode),
		},
		HostConfig: &container.HostConfig{
			NetworkMode: container.NetworkMode("container:" + s.Holder),
			Mounts:      mounts,
			CapAdd:      []string{"NET_ADMIN", "NET_RAW"},
			ShmSize:     s.ShmSize,
			Resources:   container.Resources{NanoCPUs: s.NanoCPUs, Memory: s.Memory},
		},
	})
	if err != nil {
		return "", fmt.Errorf("create container %s: %w", NodeName(s.Lab, s.Node), err)
	}
	return r.ID, nil
}

// Start starts a container and returns the host PID of its process.
func (e *Engine) Start(ctx context.Context, id string) (int, error) {
	if _, err := e.c.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
		return 0, fmt.Errorf("start container %s: %w", short(id), err)
	}
	st, err := e.State(ctx, id)
	if err != nil {
		return 0, err
	}
	if !st.Running {
		return 0, fmt.Errorf("container %s exited at once (status %d)", short(id), st.ExitCode)
	}
	return st.PID, nil
}

// State is a container's state.
type State struct {
	Running  bool
	PID      int // on the host, while it runs
	ExitCode int
	Status   string // created, running, exited, ...
	Image    string
}

// State asks for a container's state; ErrGone if there is no such
// container.
func (e *Engine) State(ctx context.Context, id string) (State, error) {
	r, err := e.c.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if cerrdefs.IsNotFound(err) {
		return State{}, fmt.Errorf("%w: %s", ErrGone, id)
	}
	if err != nil {
		return State{}, fmt.Errorf("inspect container %s: %w", short(id), err)
	}
	s := State{Image: r.Container.Config.Image}
	if st := r.Container.State; st != nil {
		s.Running, s.PID, s.ExitCode, s.Status = st.Running, st.Pid, st.ExitCode, string(st.Status)
	}
	return s, nil
}

// ErrGone is returned for a container that does not exist.
var ErrGone = errors.New("no such container")

// Logs returns the last n lines a container wrote (stdout and stderr).
func (e *Engine) Logs(ctx context.Context, id string, n int) (string, error) {
	tail := "all"
	if n > 0 {
		tail = fmt.Sprint(n)
	}
	rc, err := e.c.ContainerLogs(ctx, id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Tail: tail})
	if err != nil {
		return "", err
	}
	defer rc.Close()
	var b strings.Builder
	if _, err := stdcopy.StdCopy(&b, &b, rc); err != nil {
		return b.String(), err
	}
	return b.String(), nil
}

// FollowLogs copies a container's output to w until ctx ends or the
// container stops.
func (e *Engine) FollowLogs(ctx context.Context, id string, tail int, w io.Writer) error {
	t := "all"
	if tail >= 0 {
		t = fmt.Sprint(tail)
	}
	rc, err := e.c.ContainerLogs(ctx, id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Tail: t, Follow: true})
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = stdcopy.StdCopy(w, w, rc)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// Container is one container of ours.
type Container struct {
	ID, Name        string
	Lab, Node, Role string
	State           string
}

// LabContainers lists the containers that carry the lab's marker (every
// lab's when lab is ""), running or not.
func (e *Engine) LabContainers(ctx context.Context, lab string) ([]Container, error) {
	f := make(client.Filters)
	if lab == "" {
		f.Add("label", LabelLab)
	} else {
		f.Add("label", LabelLab+"="+lab)
	}
	r, err := e.c.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return nil, fmt.Errorf("docker: list containers: %w", err)
	}
	var cs []Container
	for _, s := range r.Items {
		c := Container{ID: s.ID, Lab: s.Labels[LabelLab], Node: s.Labels[LabelNode], Role: s.Labels[LabelRole], State: string(s.State)}
		if len(s.Names) > 0 {
			c.Name = strings.TrimPrefix(s.Names[0], "/")
		}
		cs = append(cs, c)
	}
	return cs, nil
}

// Remove removes a container, stopping it first (SIGKILL); gone already is
// no error.
func (e *Engine) Remove(ctx context.Context, id string) error {
	_, err := e.c.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("remove container %s: %w", short(id), err)
	}
	return nil
}

// ExecOptions are the streams and environment of a command run in a
// container.
type ExecOptions struct {
	Env            []string
	Stdin          io.Reader // nil: none
	Stdout, Stderr io.Writer
	// Signals, when not nil, delivers signals to pass on to the command
	// (by its host PID): docker exec does not stop a command whose client
	// goes away.
	Signals <-chan os.Signal
	Kill    func(pid int, sig os.Signal)
}

// Exec runs argv in a running container and returns its exit status.
func (e *Engine) Exec(ctx context.Context, id string, argv []string, o ExecOptions) (int, error) {
	cr, err := e.c.ExecCreate(ctx, id, client.ExecCreateOptions{
		Cmd: argv, Env: o.Env, AttachStdin: o.Stdin != nil, AttachStdout: true, AttachStderr: true,
	})
	if err != nil {
		return -1, fmt.Errorf("docker exec in %s: %w", short(id), err)
	}
	at, err := e.c.ExecAttach(ctx, cr.ID, client.ExecAttachOptions{})
	if err != nil {
		return -1, fmt.Errorf("docker exec in %s: %w", short(id), err)
	}
	defer at.Close()
	if o.Stdin != nil {
		go func() {
			io.Copy(at.Conn, o.Stdin)
			at.CloseWrite()
		}()
	}
	done := make(chan error, 1)
	go func() {
		_, err := stdcopy.StdCopy(o.Stdout, o.Stderr, at.Reader)
		done <- err
	}()
	for waiting := true; waiting; {
		select {
		case err = <-done:
			waiting = false
		case sig := <-o.Signals:
			if r, ierr := e.c.ExecInspect(ctx, cr.ID, client.ExecInspectOptions{}); ierr == nil && r.Running && r.PID > 0 && o.Kill != nil {
				o.Kill(r.PID, sig)
			}
		}
	}
	if err != nil {
		return -1, fmt.Errorf("docker exec in %s: %w", short(id), err)
	}
	// The stream ends a moment before the engine records the exit status.
	for deadline := time.Now().Add(5 * time.Second); ; {
		r, err := e.c.ExecInspect(ctx, cr.ID, client.ExecInspectOptions{})
		if err != nil {
			return -1, fmt.Errorf("docker exec in %s: %w", short(id), err)
		}
		if !r.Running || time.Now().After(deadline) {
			return r.ExitCode, nil
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// connectTimeout bounds the first answer of an engine.
const connectTimeout = 5 * time.Second
