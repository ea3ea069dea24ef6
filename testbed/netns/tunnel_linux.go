package netns

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
	vns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/o7s/ouroboros/stack/ctl"
	"github.com/o7s/ouroboros/testbed/topo"
)

// TunnelState is one ovpn tunnel of a lab: its server end, then its
// client end, each an ovpn process in its gateway's namespace.
type TunnelState struct {
	Name  string           `json:"name"`
	Mode  string           `json:"mode"`
	Layer string           `json:"layer"`
	QoS   string           `json:"qos"`
	Ends  []TunnelEndState `json:"ends"`
}

// TunnelEndState is one gateway of a tunnel.
type TunnelEndState struct {
	Role   string   `json:"role"` // server | client
	Node   string   `json:"node"`
	NS     string   `json:"netns"`
	LAN    string   `json:"lan"`
	Iface  string   `json:"iface"`            // the gateway's interface on the LAN
	Dev    string   `json:"dev"`              // the tun or tap device ovpn makes
	Bridge string   `json:"bridge,omitempty"` // tap: the gateway's bridge of Iface and Dev
	Argv   []string `json:"argv"`             // ovpn's arguments
	Log    string   `json:"log"`
	PID    int      `json:"pid,omitempty"`
}

// Roles of a tunnel's ends.
const (
	RoleServer = "server"
	RoleClient = "client"
)

// TunnelStates is what a deploy records of the topology's tunnels, with
// their logs in the lab directory dir.
func TunnelStates(t *topo.Topology, dir string) []TunnelState {
	var out []TunnelState
	for _, tn := range t.Tunnels {
		ts := TunnelState{Name: tn.Name, Mode: tn.Mode, Layer: tn.Layer, QoS: tn.QoS}
		for i, e := range tn.Ends() {
			role := RoleServer
			if i == 1 {
				role = RoleClient
			}
			ts.Ends = append(ts.Ends, TunnelEndState{
				Role: role, Node: e.Node, NS: NSName(t.Name, e.Node), LAN: e.LAN, Iface: e.Iface,
				Dev: e.Dev, Bridge: e.Bridge, Argv: ovpnArgs(tn, e, role),
				Log: filepath.Join(dir, e.Node, "ovpn-"+tn.Name+".log"),
			})
		}
		out = append(out, ts)
	}
	return out
}

// ovpnArgs are the arguments of one end's ovpn.
func ovpnArgs(tn *topo.Tunnel, e *topo.TunnelEnd, role string) []string {
	var a []string
	if role == RoleClient {
		a = append(a, "-n", tn.Name)
	}
	a = append(a, "--dev", e.Dev, "-q", tn.QoS)
	if tn.Mode == topo.TunnelTap {
		return append(a, "--tap", "--bridge", e.Bridge)
	}
	for _, p := range e.Addrs {
		if p.Addr().Is4() {
			a = append(a, "-i", p.Addr().String(), "-m", net.IP(net.CIDRMask(p.Bits(), 32)).String())
		} else {
			a = append(a, "--ip6", p.String())
		}
	}
	for _, r := range e.Routes {
		a = append(a, "--route", r.String())
	}
	return a
}

// ipSetup gives hosts and gateways their addresses and routes, makes the
// bridges of tap gateways, and turns on forwarding in tun gateways.
func (d *deployer) ipSetup() error {
	bridged := map[string]string{} // node:iface -> its tap bridge
	for _, tn := range d.t.Tunnels {
		for _, e := range tn.Ends() {
			ns := d.l.Nodes[e.Node].NS
			if tn.Mode == topo.TunnelTun {
				if err := forwarding(ns); err != nil {
					return d.step(e.Node, "turn on forwarding", err)
				}
				continue
			}
			if err := addTapBridge(d.t.Name, ns, e.Bridge, e.Iface); err != nil {
				return d.step(e.Node, "bridge "+e.Iface+" for tunnel "+tn.Name, err)
			}
			bridged[e.Node+":"+e.Iface] = e.Bridge
		}
	}
	n := 0
	for _, node := range d.t.Nodes {
		if len(node.Addrs) == 0 && len(node.Routes) == 0 {
			continue
		}
		ns := d.l.Nodes[node.Name].NS
		err := withHandle(ns, func(h *netlink.Handle) error {
			for iface, addrs := range node.Addrs {
				if br, ok := bridged[node.Name+":"+iface]; ok {
					iface = br
				}
				l, err := h.LinkByName(iface)
				if err != nil {
					return fmt.Errorf("%s: %w", iface, err)
				}
				for _, p := range addrs {
					if err := h.AddrAdd(l, nlAddr(p)); err != nil {
						return fmt.Errorf("address %v on %s: %w", p, iface, err)
					}
				}
			}
			for _, r := range node.Routes {
				rt := &netlink.Route{Dst: ipNet(r.To), Gw: r.Via.AsSlice()}
				if err := h.RouteAdd(rt); err != nil {
					return fmt.Errorf("route %s: %w", r, err)
				}
			}
			return nil
		})
		if err != nil {
			return d.step(node.Name, "addresses and routes", err)
		}
		n++
	}
	if n > 0 {
		fmt.Fprintf(d.o.Out, "%-10s addresses and routes on %d nodes\n", "ip", n)
	}
	return nil
}

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

func nlAddr(p netip.Prefix) *netlink.Addr {
	a := &netlink.Addr{IPNet: ipNet(p)}
	if p.Addr().Is6() {
		a.Flags = unix.IFA_F_NODAD // usable at once
	}
	return a
}

// addTapBridge makes a bridge in a gateway's namespace and puts its LAN
// interface in it; ovpn attaches its tap device to it.
func addTapBridge(lab, ns, name, iface string) error {
	return withHandle(ns, func(h *netlink.Handle) error {
		br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: name}}
		if err := h.LinkAdd(br); err != nil {
			return fmt.Errorf("bridge %s: %w", name, err)
		}
		h.LinkSetAlias(br, markerPrefix+lab)
		p, err := h.LinkByName(iface)
		if err != nil {
			return err
		}
		if err := h.LinkSetMaster(p, br); err != nil {
			return fmt.Errorf("%s into %s: %w", iface, name, err)
		}
		return h.LinkSetUp(br)
	})
}

// forwarding turns on IPv4 and IPv6 forwarding in a namespace: the files
// under /proc/sys/net are those of the namespace of the thread that opens
// them.
func forwarding(ns string) error {
	h, err := vns.GetFromName(ns)
	if err != nil {
		return err
	}
	defer h.Close()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		if err := vns.Set(h); err != nil {
			errc <- err
			return
		}
		for _, f := range []string{"/proc/sys/net/ipv4/ip_forward", "/proc/sys/net/ipv6/conf/all/forwarding"} {
			if err := os.WriteFile(f, []byte("1\n"), 0o644); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	return <-errc
}

// tunnelTimeout bounds the wait for a tunnel's flow: the client's first
// allocation ends ovpn when it fails (the name not yet found in the
// layer's directory), so it is started again until then.
const tunnelTimeout = 30 * time.Second

// startTunnels starts every tunnel: its server, bound to the tunnel's
// name, then its client, until the client has its flow and both have
// their devices.
func (d *deployer) startTunnels(ctx context.Context) error {
	if len(d.l.Tunnels) == 0 {
		return nil
	}
	ovpn := filepath.Join(d.o.BinDir, "ovpn")
	if _, err := os.Stat(ovpn); err != nil {
		return fmt.Errorf("ovpn not found next to otb (%s): run make build", ovpn)
	}
	for i := range d.l.Tunnels {
		ts := &d.l.Tunnels[i]
		for j := range ts.Ends {
			e := &ts.Ends[j]
			if err := startEnd(ctx, d.l, ts, e, ovpn); err != nil {
				return d.step(e.Node, fmt.Sprintf("start ovpn (%s of %s)", e.Role, ts.Name), err)
			}
		}
		srv := &ts.Ends[0]
		if err := waitLog(ctx, srv.Log, 0, tunnelStarted, nil, srv.PID, srv.NS, tunnelTimeout); err != nil {
			return d.step(srv.Node, "tunnel "+ts.Name+" up", err)
		}
		fmt.Fprintf(d.o.Out, "%-10s %s %s: %s (%s, pid %d) -- %s (%s, pid %d)\n", "tunnel", ts.Name, ts.Mode,
			srv.Node, srv.Dev, srv.PID, ts.Ends[1].Node, ts.Ends[1].Dev, ts.Ends[1].PID)
	}
	return nil
}

// tunnelStarted is what ovpn prints once its device carries a flow.
const tunnelStarted = "Starting read/write threads."

// startEnd starts one end's ovpn and records its PID: a server is bound
// to the tunnel's name, a client is started again until it has its flow.
func startEnd(ctx context.Context, l *Lab, ts *TunnelState, e *TunnelEndState, ovpn string) error {
	ns := l.Nodes[e.Node]
	deadline := time.Now().Add(tunnelTimeout)
	for {
		var from int64
		if fi, err := os.Stat(e.Log); err == nil {
			from = fi.Size()
		}
		pid, exited, err := startDetached(ns.NS, e.Log, []string{"OUROBOROS_SOCK=" + ns.Sock}, append([]string{ovpn}, e.Argv...)...)
		if err != nil {
			return err
		}
		e.PID = pid
		if err := l.save(); err != nil {
			return err
		}
		if e.Role == RoleServer {
			node := ctl.NewClient(ns.Sock)
			return retry(ctx, 10*time.Second, func(ctx context.Context) error { return node.BindProcess(ctx, pid, ts.Name) })
		}
		err = waitLog(ctx, e.Log, from, tunnelStarted, exited, pid, ns.NS, time.Until(deadline))
		if err == nil {
			return nil
		}
		select {
		case <-exited:
		case <-time.After(2 * time.Second):
			return fmt.Errorf("%v; its log:\n%s", err, tail(e.Log, 5)) // still running, and no flow in time
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("ovpn found no server: %v; its log:\n%s", err, tail(e.Log, 5))
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// waitLog waits until a log holds line past offset from, the process
// having ended, or the time being up. A process this program started is
// told ended by its exited channel (alive would call one still entering
// its namespace ended); another (exited nil) by alive.
func waitLog(ctx context.Context, log string, from int64, line string, exited <-chan struct{}, pid int, ns string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		if b, err := os.ReadFile(log); err == nil && int64(len(b)) >= from && strings.Contains(string(b[from:]), line) {
			return nil
		}
		ended := false
		if exited != nil {
			select {
			case <-exited:
				ended = true
			default:
			}
		} else {
			ended = !alive(pid, ns)
		}
		if ended {
			return fmt.Errorf("ovpn (pid %d) ended", pid)
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("ovpn (pid %d) did not say %q within %v", pid, line, limit.Round(time.Second))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stopTunnel stops one end's ovpn by its recorded PID, if that process is
// still this end's ovpn (its command line names the end's device).
func stopTunnel(e *TunnelEndState) {
	if e.PID <= 0 {
		return
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", e.PID))
	if err != nil || !strings.Contains(string(b), "\x00"+e.Dev+"\x00") {
		return
	}
	unix.Kill(e.PID, unix.SIGTERM)
	for deadline := time.Now().Add(3 * time.Second); unix.Kill(e.PID, 0) == nil && !zombie(e.PID); {
		if time.Now().After(deadline) {
			unix.Kill(e.PID, unix.SIGKILL)
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TunnelReport is a tunnel as inspect shows it.
type TunnelReport struct {
	TunnelState
	Up []bool `json:"up"` // each end's ovpn runs
	// DevUp: each end's device exists (a server makes it at its first flow).
	DevUp []bool `json:"dev_up"`
}

func (l *Lab) tunnelReports() []TunnelReport {
	var out []TunnelReport
	for _, ts := range l.Tunnels {
		r := TunnelReport{TunnelState: ts}
		for _, e := range ts.Ends {
			r.Up = append(r.Up, e.PID > 0 && alive(e.PID, e.NS))
			dev := false
			withHandle(e.NS, func(h *netlink.Handle) error {
				_, err := h.LinkByName(e.Dev)
				dev = err == nil
				return nil
			})
			r.DevUp = append(r.DevUp, dev)
		}
		out = append(out, r)
	}
	return out
}

// RestartTunnel stops a running lab's tunnel ends (both, or the one of
// role) by PID and starts them again, as a gateway's ovpn restarting: a
// server is bound to the name again and a client allocates a new flow;
// a client whose server restarts allocates again by itself.
func RestartTunnel(ctx context.Context, lab, name, role string, o Options) error {
	o.fill()
	unlock, err := lockLab(o.Root, lab)
	if err != nil {
		return err
	}
	defer unlock()
	l, err := LoadLab(o.Root, lab)
	if err != nil {
		return err
	}
	var ts *TunnelState
	var names []string
	for i := range l.Tunnels {
		names = append(names, l.Tunnels[i].Name)
		if l.Tunnels[i].Name == name {
			ts = &l.Tunnels[i]
		}
	}
	if ts == nil {
		return fmt.Errorf("lab %s has no tunnel %q (tunnels: %s)", lab, name, strings.Join(names, ", "))
	}
	if role != "" && role != RoleServer && role != RoleClient {
		return fmt.Errorf("no end %q: name server or client", role)
	}
	ovpn := filepath.Join(o.BinDir, "ovpn")
	for i := range ts.Ends {
		e := &ts.Ends[i]
		if role != "" && e.Role != role {
			continue
		}
		stopTunnel(e)
		if err := startEnd(ctx, l, ts, e, ovpn); err != nil {
			return fmt.Errorf("tunnel %s: %s on %s: %w", name, e.Role, e.Node, err)
		}
		fmt.Fprintf(o.Out, "tunnel %s: %s on %s restarted (pid %d)\n", name, e.Role, e.Node, e.PID)
	}
	return l.save()
}

// tunnelsHealthy checks that every tunnel end's ovpn runs.
func tunnelsHealthy(l *Lab) error {
	for _, ts := range l.Tunnels {
		for _, e := range ts.Ends {
			if !alive(e.PID, e.NS) {
				return fmt.Errorf("ovpn of tunnel %s on %s (pid %d) is not running", ts.Name, e.Node, e.PID)
			}
		}
	}
	return nil
}

// dadTimeout bounds the wait for the kernel's duplicate address detection
// on the interfaces of nodes with IPv6 addresses.
const dadTimeout = 5 * time.Second

// waitDAD waits until no address of a node with IPv6 addresses is
// tentative: the file's addresses skip detection, but each interface's
// link-local address goes through it (a second or so after the link comes
// up), and until then the node sends no neighbour solicitation, so the
// first IPv6 packets of a lab just deployed were lost.
func (d *deployer) waitDAD(ctx context.Context) error {
	deadline := time.Now().Add(dadTimeout)
	for _, node := range d.t.Nodes {
		v6 := false
		for _, addrs := range node.Addrs {
			for _, a := range addrs {
				v6 = v6 || a.Addr().Is6()
			}
		}
		if !v6 {
			continue
		}
		for {
			tentative := ""
			withHandle(d.l.Nodes[node.Name].NS, func(h *netlink.Handle) error {
				addrs, err := h.AddrList(nil, netlink.FAMILY_V6)
				for _, a := range addrs {
					if a.Flags&unix.IFA_F_TENTATIVE != 0 {
						tentative = a.IPNet.String()
					}
				}
				return err
			})
			if tentative == "" {
				break
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				return d.step(node.Name, "IPv6 addresses", fmt.Errorf("%s is still tentative (duplicate address detection) after %v", tentative, dadTimeout))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return nil
}
