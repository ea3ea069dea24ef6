package docker

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"
)

// TLS names the files of a TLS connection to an engine (all empty: none).
type TLS struct {
	CA, Cert, Key string
}

// ConnectHost reaches the engine at host (unix:///path or tcp://addr:port;
// empty: as Connect), over TLS when its files are given.
func ConnectHost(ctx context.Context, host string, tls TLS) (*Engine, error) {
	if host == "" && tls == (TLS{}) {
		return Connect(ctx)
	}
	opts := []client.Opt{client.FromEnv}
	if host != "" {
		opts = append(opts, client.WithHost(host))
	}
	if tls != (TLS{}) {
		opts = append(opts, client.WithTLSClientConfig(tls.CA, tls.Cert, tls.Key))
	}
	return dial(ctx, "", opts...)
}

// SwarmState is what an engine says of its swarm membership.
type SwarmState struct {
	Active  bool   // a member (state active)
	State   string // inactive, pending, active, error, locked
	Manager bool   // a manager (control available)
}

// Swarm asks an engine for its swarm membership.
func (e *Engine) Swarm(ctx context.Context) (SwarmState, error) {
	r, err := e.c.Info(ctx, client.InfoOptions{})
	if err != nil {
		return SwarmState{}, fmt.Errorf("docker engine %s: %w", e.Host(), err)
	}
	s := r.Info.Swarm
	return SwarmState{Active: s.LocalNodeState == swarm.LocalNodeStateActive, State: string(s.LocalNodeState), Manager: s.ControlAvailable}, nil
}

// SwarmInit makes the engine the first manager of a new swarm, listening
// and advertising on addr (an IP address of its own).
func (e *Engine) SwarmInit(ctx context.Context, addr string) error {
	_, err := e.c.SwarmInit(ctx, client.SwarmInitOptions{ListenAddr: addr + ":2377", AdvertiseAddr: addr})
	if err != nil {
		return fmt.Errorf("swarm init on %s: %w", e.Host(), err)
	}
	return nil
}

// JoinToken is the token with which another engine joins this manager's
// swarm, as a manager or as a worker.
func (e *Engine) JoinToken(ctx context.Context, manager bool) (string, error) {
	r, err := e.c.SwarmInspect(ctx, client.SwarmInspectOptions{})
	if err != nil {
		return "", fmt.Errorf("swarm inspect on %s: %w", e.Host(), err)
	}
	if manager {
		return r.Swarm.JoinTokens.Manager, nil
	}
	return r.Swarm.JoinTokens.Worker, nil
}

// SwarmJoin joins the swarm of the manager at remote (address:port),
// listening and advertising on addr.
func (e *Engine) SwarmJoin(ctx context.Context, addr, remote, token string) error {
	_, err := e.c.SwarmJoin(ctx, client.SwarmJoinOptions{
		ListenAddr: addr + ":2377", AdvertiseAddr: addr, RemoteAddrs: []string{remote}, JoinToken: token,
	})
	if err != nil {
		return fmt.Errorf("swarm join of %s: %w", e.Host(), err)
	}
	return nil
}

// SwarmLeave takes the engine out of its swarm (forced: a manager too).
func (e *Engine) SwarmLeave(ctx context.Context) error {
	_, err := e.c.SwarmLeave(ctx, client.SwarmLeaveOptions{Force: true})
	return err
}

// OverlayName is the name of a swarm lab's overlay network.
func OverlayName(lab string) string { return "o7s-" + lab }

// CreateOverlay creates a swarm lab's network (asked of a manager): an
// attachable overlay, internal (no way out of it), whose containers'
// interfaces have the MTU given (the driver's option is the MTU of the
// network beneath, which its VXLAN header takes 50 bytes of), marked with
// the lab's label.
func (e *Engine) CreateOverlay(ctx context.Context, lab string, mtu int) (string, error) {
	r, err := e.c.NetworkCreate(ctx, OverlayName(lab), client.NetworkCreateOptions{
		Driver: "overlay", Attachable: true, Internal: true,
		Options: map[string]string{"com.docker.network.driver.mtu": fmt.Sprint(mtu + 50)},
		Labels:  map[string]string{LabelLab: lab},
	})
	if err != nil {
		return "", fmt.Errorf("create overlay network %s on %s: %w", OverlayName(lab), e.Host(), err)
	}
	return r.ID, nil
}

// Network is one network of ours.
type Network struct {
	ID, Name, Lab string
}

// LabNetworks lists the networks that carry the lab's marker (every
// lab's when lab is "").
func (e *Engine) LabNetworks(ctx context.Context, lab string) ([]Network, error) {
	f := make(client.Filters)
	if lab == "" {
		f.Add("label", LabelLab)
	} else {
		f.Add("label", LabelLab+"="+lab)
	}
	r, err := e.c.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	if err != nil {
		return nil, fmt.Errorf("docker: list networks: %w", err)
	}
	var ns []Network
	for _, n := range r.Items {
		ns = append(ns, Network{ID: n.ID, Name: n.Name, Lab: n.Labels[LabelLab]})
	}
	return ns, nil
}

// RemoveNetwork removes a network; gone already is no error.
func (e *Engine) RemoveNetwork(ctx context.Context, id string) error {
	_, err := e.c.NetworkRemove(ctx, id, client.NetworkRemoveOptions{})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("remove network %s: %w", short(id), err)
	}
	return nil
}

// RunHolderOn is RunHolder with the holder attached to a network (a swarm
// lab's overlay) instead of none.
func (e *Engine) RunHolderOn(ctx context.Context, lab, node, image, net string) (id string, pid int, err error) {
	r, err := e.c.ContainerCreate(ctx, client.ContainerCreateOptions{
		Name: HolderName(lab, node),
		Config: &container.Config{
			Image:      image,
			Hostname:   node,
			Entrypoint: []string{"opause"},
			Labels:     labels(lab, node, RoleHolder),
		},
		HostConfig:       &container.HostConfig{NetworkMode: container.NetworkMode(net)},
		NetworkingConfig: &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{net: {}}},
	})
	if err != nil {
		return "", 0, fmt.Errorf("create container %s on %s: %w", HolderName(lab, node), e.Host(), err)
	}
	pid, err = e.Start(ctx, r.ID)
	return r.ID, pid, err
}

// Attachment is a running container's address and MAC on a network.
type Attachment struct {
	Addr netip.Addr
	MAC  string
}

// NetworkAttachment tells a running container's address and MAC on a
// network.
func (e *Engine) NetworkAttachment(ctx context.Context, id, net string) (Attachment, error) {
	r, err := e.c.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		return Attachment{}, fmt.Errorf("inspect container %s: %w", short(id), err)
	}
	if ns := r.Container.NetworkSettings; ns != nil {
		if ep := ns.Networks[net]; ep != nil && ep.IPAddress.IsValid() {
			return Attachment{Addr: ep.IPAddress, MAC: ep.MacAddress.String()}, nil
		}
	}
	return Attachment{}, fmt.Errorf("container %s has no address on network %s", short(id), net)
}

// CopyImage copies an image from this engine into another (save, load),
// as a registry would.
func (e *Engine) CopyImage(ctx context.Context, ref string, dst *Engine) error {
	rc, err := e.c.ImageSave(ctx, []string{ref})
	if err != nil {
		return fmt.Errorf("save %s from %s: %w", ref, e.Host(), err)
	}
	defer rc.Close()
	lr, err := dst.c.ImageLoad(ctx, rc, client.ImageLoadWithQuiet(true))
	if err != nil {
		return fmt.Errorf("load %s into %s: %w", ref, dst.Host(), err)
	}
	defer lr.Close()
	b, _ := io.ReadAll(lr)
	if s := string(b); strings.Contains(s, `"error"`) {
		return fmt.Errorf("load %s into %s: %s", ref, dst.Host(), strings.TrimSpace(s))
	}
	return dst.CheckImage(ctx, ref)
}

// StorageDriver is the engine's storage driver (an engine of our own on
// this machine uses the same: the machine's engine shows what works here).
func (e *Engine) StorageDriver(ctx context.Context) (string, error) {
	r, err := e.c.Info(ctx, client.InfoOptions{})
	if err != nil {
		return "", fmt.Errorf("docker engine %s: %w", e.Host(), err)
	}
	return r.Info.Driver, nil
}
