package netns

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/o7s/ouroboros/testbed/profiles"
	"github.com/o7s/ouroboros/testbed/topo"
)

// DefaultRoot holds one directory per lab.
const DefaultRoot = "/run/o7s/labs"

// Lab is what a deploy made, as recorded in the lab directory.
type Lab struct {
	Name    string                `json:"name"`
	File    string                `json:"file"`
	Dir     string                `json:"dir"`
	Created time.Time             `json:"created"`
	Nodes   map[string]*NodeState `json:"nodes"`
	Links   []LinkState           `json:"links,omitempty"`
	Layers  []LayerState          `json:"layers"`
	Tunnels []TunnelState         `json:"tunnels,omitempty"`
	// Deploying: a deploy made this lab and has not finished. One found so
	// with its lock free was left by a deploy that died; gc removes it.
	Deploying bool `json:"deploying,omitempty"`
	// Swarm is what a swarm lab made beyond its nodes (swarm_linux.go).
	Swarm *SwarmState `json:"swarm,omitempty"`
}

// LinkState is one link of a lab: its ends, by namespace and interface.
// A LAN's link lists each member's end and, in Ports, its port on the
// bridge.
type LinkState struct {
	ID     string    `json:"id"`
	Type   string    `json:"type"`
	Bridge string    `json:"bridge,omitempty"`
	MTU    int       `json:"mtu,omitempty"`
	Ends   []LinkEnd `json:"ends"`
	Ports  []LinkEnd `json:"ports,omitempty"`
	// Impair is the impairment the lab intends for a point-to-point link,
	// Impair[i] acting on what Ends[i] sends (as topo.Link.Impair): the
	// file's, then what otb link set made of it. The kernel has what is.
	Impair []topo.Impairment `json:"impair,omitempty"`
	// Relay is the link's impairment relay, if it has one: then the relay
	// makes every knob of its impairment real, and the kernel none.
	Relay *RelayState `json:"relay,omitempty"`
}

// LinkEnd is one interface of a link.
type LinkEnd struct {
	Node  string `json:"node"`
	NS    string `json:"netns"`
	Iface string `json:"iface"`
	Addr  string `json:"addr,omitempty"` // with its prefix length
}

// NodeState is one node of a lab.
type NodeState struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
	NS   string `json:"netns"`
	Sock string `json:"sock,omitempty"`
	Log  string `json:"log,omitempty"`
	PID  int    `json:"pid,omitempty"`
	// Stopped: otb node stop stopped its onode, and otb node start has not
	// started it again.
	Stopped bool `json:"stopped,omitempty"`
	// Docker nodes (docker_linux.go): Runtime is "docker", onode runs in
	// the container Container, in the network namespace of the container
	// Holder, from Image (empty: the testbed's), with the limits CPUs and
	// Memory (bytes; zero: none). PID is onode's on the host.
	Runtime   string  `json:"runtime,omitempty"`
	Container string  `json:"container,omitempty"`
	Holder    string  `json:"holder,omitempty"`
	Image     string  `json:"image,omitempty"`
	CPUs      float64 `json:"cpus,omitempty"`
	Memory    int64   `json:"memory,omitempty"`
	// Swarm nodes (runtime "swarm", swarm_linux.go): the host (of
	// Lab.Swarm.Hosts) whose engine runs its containers, and the holder's
	// address on the lab's overlay network.
	Host     string `json:"host,omitempty"`
	Underlay string `json:"underlay,omitempty"`
	// Impl is the profile of a node that runs another implementation
	// than ours (foreign_linux.go): always a docker node, whose container
	// runs the profile's daemon, with no control socket of ours (Sock is
	// empty). PID is the daemon's on the host.
	Impl *profiles.Profile `json:"impl,omitempty"`
}

// Foreign tells whether the node runs another implementation than ours.
func (n *NodeState) Foreign() bool { return n.Impl != nil }

// LayerState is one layer of a lab: its IPCPs by node.
type LayerState struct {
	Name  string            `json:"name"`
	Type  string            `json:"type"`
	Link  string            `json:"link,omitempty"` // shim layers
	IPCPs map[string]string `json:"ipcps"`          // node -> IPCP name
	// Members in enrollment order, the first bootstrapped, and each
	// one's lower layers (unicast and broadcast layers).
	Members []string            `json:"members,omitempty"`
	Lower   map[string][]string `json:"lower,omitempty"`
}

func labDir(root, lab string) string { return filepath.Join(root, lab) }

func (l *Lab) save() error {
	if err := os.MkdirAll(l.Dir, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(l.Dir, "state.json.tmp")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(l.Dir, "state.json"))
}

// LoadLab reads a lab's recorded state.
func LoadLab(root, name string) (*Lab, error) {
	b, err := os.ReadFile(filepath.Join(labDir(root, name), "state.json"))
	if os.IsNotExist(err) {
		return nil, fmt.Errorf("%w: %s", ErrNoLab, name)
	}
	if err != nil {
		return nil, err
	}
	var l Lab
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, fmt.Errorf("lab %s: state: %w", name, err)
	}
	return &l, nil
}

// Labs lists the labs recorded under root.
func Labs(root string) []string {
	ents, _ := os.ReadDir(root)
	var l []string
	for _, e := range ents {
		if e.IsDir() {
			l = append(l, e.Name())
		}
	}
	slices.SortFunc(l, topo.CompareNames)
	return l
}

// NodeNames returns the lab's node names, sorted.
func (l *Lab) NodeNames() []string {
	var ns []string
	for n := range l.Nodes {
		ns = append(ns, n)
	}
	slices.SortFunc(ns, topo.CompareNames)
	return ns
}

func errNoNode(lab, node string, have []string) error {
	return fmt.Errorf("lab %s has no node %q (nodes: %s)", lab, node, strings.Join(have, ", "))
}

func fail(err error) int {
	fmt.Fprintf(os.Stderr, "otb: %v\n", err)
	return 1
}

// linkEnds finds the interfaces of a link by what a user writes (see
// findLink): both ends of a point-to-point link, every end and bridge port
// of a LAN named by its bridge, or one member's end and its port when a
// LAN is named by NODE:IFACE.
func (l *Lab) linkEnds(id string) ([]LinkEnd, error) {
	ls, member, err := l.findLink(id)
	if err != nil {
		return nil, err
	}
	if member >= 0 && member < len(ls.Ports) {
		return []LinkEnd{ls.Ends[member], ls.Ports[member]}, nil
	}
	if member >= 0 { // a swarm lab's LAN: no bridge, no ports
		return []LinkEnd{ls.Ends[member]}, nil
	}
	return append(append(slices.Clone(ls.Ends), ls.Ports...), ls.Relay.ends()...), nil
}

// findLink finds a link by what a user writes: a point-to-point link's ID
// either way round, a LAN's bridge name, or NODE:IFACE (a point-to-point
// link's end stands for the whole link). member is the index in Ends of a
// LAN member named by NODE:IFACE, and -1 otherwise.
func (l *Lab) findLink(id string) (ls *LinkState, member int, err error) {
	if len(l.Links) == 0 {
		return nil, -1, fmt.Errorf("lab %s recorded no links (deployed by an older otb): destroy and deploy it again", l.Name)
	}
	var ids []string
	for i := range l.Links {
		ls := &l.Links[i]
		ids = append(ids, ls.ID)
		if ls.ID == id || (ls.Type != topo.LinkBridge && len(ls.Ends) == 2 && reversed(*ls) == id) {
			return ls, -1, nil
		}
		for j, e := range ls.Ends {
			if e.Node+":"+e.Iface != id {
				continue
			}
			if ls.Type == topo.LinkBridge {
				return ls, j, nil
			}
			return ls, -1, nil
		}
	}
	return nil, -1, fmt.Errorf("lab %s has no link %q; name one as A:IF--B:IF, a LAN by its bridge, or a LAN member's end as NODE:IF (links: %s)",
		l.Name, id, strings.Join(ids, ", "))
}

func reversed(ls LinkState) string {
	return ls.Ends[1].Node + ":" + ls.Ends[1].Iface + "--" + ls.Ends[0].Node + ":" + ls.Ends[0].Iface
}
