package netns

import (
	"context"
	"os"
	"path/filepath"
	"slices"

	"github.com/o7s/ouroboros/stack/ctl"
	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/testbed/topo"
)

// NodeReport is one node as inspect shows it.
type NodeReport struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
	NS   string `json:"netns"`
	PID  int    `json:"pid,omitempty"`
	Up   bool   `json:"up"`
	// Stopped: by otb node stop (then Up is false).
	Stopped bool   `json:"stopped,omitempty"`
	Sock    string `json:"sock,omitempty"`
	// Runtime is "docker" for a node in a container (Container, from
	// Image), else empty (a namespace).
	Runtime   string `json:"runtime,omitempty"`
	Container string `json:"container,omitempty"`
	Image     string `json:"image,omitempty"`
	// Host is the host a swarm lab's node runs on.
	Host string `json:"host,omitempty"`
	// Log is where onode's log is: a file, or "docker logs CONTAINER";
	// LogTail its last lines.
	Log     string          `json:"log,omitempty"`
	LogTail string          `json:"log_tail,omitempty"`
	IPCPs   []*ctl.IPCPInfo `json:"ipcps,omitempty"`
	Names   []*ctl.NameInfo `json:"names,omitempty"`
	Flows   []*ctl.FlowInfo `json:"flows,omitempty"`
	Error   string          `json:"error,omitempty"`
	// Impl names the profile of a node that runs another implementation
	// (foreign_linux.go); Status is the output of its status command.
	Impl   string `json:"impl,omitempty"`
	Status string `json:"status,omitempty"`
}

// Report is a lab as inspect shows it.
type Report struct {
	Lab    string        `json:"lab"`
	File   string        `json:"file"`
	Nodes  []NodeReport  `json:"nodes"`
	Links  []LinkReport  `json:"links"`
	Layers []LayerReport `json:"layers"`
	// Tunnels are the lab's ovpn tunnels and whether their ends run.
	Tunnels []TunnelReport `json:"tunnels,omitempty"`
}

// Inspect asks every node of a lab for its state.
func Inspect(ctx context.Context, lab string, o Options) (*Report, error) {
	o.fill()
	l, err := LoadLab(o.Root, lab)
	if err != nil {
		return nil, err
	}
	r := &Report{Lab: l.Name, File: l.File}
	eng, _ := engine(ctx, l) // without one, docker nodes' logs are not shown
	if eng != nil {
		defer eng.Close()
	}
	es := l.engines()
	defer es.close()
	for _, name := range l.NodeNames() {
		n := l.Nodes[name]
		nr := NodeReport{Name: name, Kind: n.Kind, NS: n.NS, PID: n.PID, Sock: n.Sock, Stopped: n.Stopped, Log: n.Log}
		if n.InContainer() {
			nr.Runtime, nr.Container, nr.Image, nr.Log = n.Runtime, n.Container, n.image(), "docker logs "+n.Container
		}
		if n.Host != "" {
			nr.Host = n.Host
			if h := l.host(n.Host); h != nil {
				nr.Log = "docker -H " + h.Engine + " logs " + n.Container
				if _, err := es.at(ctx, h); err != nil {
					nr.Error = err.Error()
					nr.Up = false
					r.Nodes = append(r.Nodes, nr)
					continue // its namespace is gone with the holder
				}
			}
		}
		if n.Runtime == topo.RuntimeSwarm && n.Kind == topo.KindBridge {
			nr.NS, nr.Up = "", true // the LAN is its members' segment
			r.Nodes = append(r.Nodes, nr)
			continue
		}
		if n.Kind == topo.KindNode {
			nr.LogTail = l.logTail(ctx, es, name, 5)
		}
		_, err := os.Stat(filepath.Join(nsDir, n.NS))
		nr.Up = err == nil && !n.Stopped
		if n.Sock != "" && !n.Stopped {
			nr.Up = nr.Up && alive(n.PID, n.NS)
			nr.fill(ctx, n.Sock)
		}
		if n.Foreign() {
			nr.Impl = n.Impl.Describe()
			if nr.Up {
				var why string
				if nr.Up, why = foreignUp(ctx, eng, n); !nr.Up {
					nr.Error = why
				} else {
					nr.Status = foreignStatus(ctx, eng, n)
				}
			}
		}
		r.Nodes = append(r.Nodes, nr)
	}
	r.Links = l.linkReports()
	r.Tunnels = l.tunnelReports()
	for _, ls := range l.Layers {
		r.Layers = append(r.Layers, layerReport(ctx, l, ls, r.Nodes))
	}
	return r, nil
}

func (nr *NodeReport) fill(ctx context.Context, sock string) {
	node := ctl.NewClient(sock)
	ctx, cancel := quick(ctx)
	defer cancel()
	var err error
	if nr.IPCPs, err = node.IPCPs(ctx); err != nil {
		nr.Error = err.Error()
	}
	if nr.Names, err = node.Names(ctx); err != nil {
		nr.Error = err.Error()
	}
	if nr.Flows, err = node.Flows(ctx); err != nil {
		nr.Error = err.Error()
	}
}

// Exec replaces the running program with argv inside a node's namespace,
// with OUROBOROS_SOCK set to the node's socket. It returns only on error.
func Exec(lab, node string, argv []string, o Options) int {
	o.fill()
	l, err := LoadLab(o.Root, lab)
	if err != nil {
		return fail(err)
	}
	n := l.Nodes[node]
	if n == nil {
		return fail(errNoNode(lab, node, l.NodeNames()))
	}
	if n.Foreign() && len(argv) > 0 {
		argv = append([]string{n.Impl.Tool(argv[0])}, argv[1:]...)
	}
	if n.InContainer() {
		return execDocker(l, n, argv)
	}
	if n.Sock != "" {
		os.Setenv("OUROBOROS_SOCK", n.Sock)
	}
	return RunNSExec(append([]string{n.NS}, argv...))
}

// layerReport asks the members of an upper layer for their IPCP's state.
func layerReport(ctx context.Context, l *Lab, ls LayerState, nodes []NodeReport) LayerReport {
	lr := LayerReport{LayerState: ls}
	if ls.Type != topo.LayerUnicast && ls.Type != topo.LayerBroadcast {
		return lr
	}
	members := ls.Members
	if len(members) == 0 { // recorded by an older otb
		for m := range ls.IPCPs {
			members = append(members, m)
		}
		slices.SortFunc(members, topo.CompareNames)
	}
	for _, m := range members {
		st := IPCPStatus{Node: m, IPCP: ls.IPCPs[m], State: StateMissing}
		if n := l.Nodes[m]; n != nil && n.Foreign() {
			// Not asked: counted enrolled while its node is up.
			st.Impl, st.State = n.Impl.Name, StateForeign
			for _, nr := range nodes {
				if nr.Name == m {
					st.Enrolled = nr.Up
					if !nr.Up {
						st.State = "down"
					}
				}
			}
			lr.Status = append(lr.Status, st)
			continue
		}
		var info *ctl.IPCPInfo
		for _, nr := range nodes {
			if nr.Name != m {
				continue
			}
			for _, p := range nr.IPCPs {
				if p.GetName() == st.IPCP {
					info = p
				}
			}
			if nr.Error != "" && info == nil {
				st.Error = nr.Error
			}
			if nr.Stopped {
				st.State = StateStopped
			}
		}
		if info != nil {
			st.ID, st.Layer = info.GetId(), info.GetLayer()
			state := ipcp.State(info.GetState())
			st.State = state.String()
			st.Enrolled = st.Layer == ls.Name && state == ipcp.StateOperational
			if n := l.Nodes[m]; n != nil && n.Sock != "" {
				st.detail(ctx, n.Sock)
			}
		}
		lr.Status = append(lr.Status, st)
	}
	return lr
}

func (st *IPCPStatus) detail(ctx context.Context, sock string) {
	ctx, cancel := quick(ctx)
	defer cancel()
	d, err := ctl.NewClient(sock).IPCPDetail(ctx, st.ID)
	if err != nil {
		st.Error = err.Error()
		return
	}
	st.Addr, st.Neighbours, st.Routes = d.GetAddr(), d.GetNeighbours(), d.GetRoutes()
	st.Names, st.Unnamed, st.Flows = d.GetNames(), d.GetUnnamed(), d.GetFlows()
}
