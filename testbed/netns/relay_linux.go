package netns

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"
	"unsafe"

	vns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/o7s/ouroboros/testbed/relay"
	"github.com/o7s/ouroboros/testbed/topo"
)

// relayStartTimeout bounds how long a deploy waits for a relay's control
// socket to answer.
const relayStartTimeout = 10 * time.Second

// relayOf is the relay planned for a link, if any.
func (l *Lab) relayOf(id string) *RelayState {
	for i := range l.Links {
		if l.Links[i].ID == id {
			return l.Links[i].Relay
		}
	}
	return nil
}

// relayLink makes a relayed point-to-point link: the relay's namespace,
// a veth pair from each end to it, and the relay process, recorded by PID.
func (d *deployer) relayLink(lk *topo.Link, r *RelayState) error {
	ep := lk.Endpoints
	if err := createNS(r.NS, d.t.Name); err != nil {
		return err
	}
	for i, e := range ep {
		node := vethEnd{NS: d.l.Nodes[e.Node].NS, Iface: e.Iface, MTU: lk.MTU, Addr: e.Addr}
		mid := vethEnd{NS: r.NS, Iface: r.Ifaces[i], MTU: lk.MTU, NoIPv6: true}
		if err := addVeth(d.t.Name, node, mid); err != nil {
			return err
		}
		// The node computes and checks its checksums itself: a frame the
		// relay copies carries no offload state, and one it corrupts
		// must fail the receiver's checks.
		if err := checksumsInSoftware(node.NS, node.Iface); err != nil {
			return err
		}
	}
	return d.startRelay(lk.ID(), r)
}

func (d *deployer) startRelay(id string, r *RelayState) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(d.l.Dir, 0o755); err != nil {
		return err
	}
	pid, exited, err := startDetached(r.NS, r.Log, nil, self, relay.Arg, "--ctl", r.Sock, r.Ifaces[0], r.Ifaces[1])
	if err != nil {
		return fmt.Errorf("start the relay: %w", err)
	}
	r.PID = pid
	if err := d.l.save(); err != nil {
		return fmt.Errorf("record the relay: %w", err)
	}
	deadline := time.Now().Add(relayStartTimeout)
	for {
		_, err := relay.Call(r.Sock, relay.Request{Op: "show"})
		if err == nil {
			break
		}
		select {
		case <-exited:
			return fmt.Errorf("the relay exited:\n%s", tail(r.Log, 10))
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the relay did not answer on %s within %v: %w", r.Sock, relayStartTimeout, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Fprintf(d.o.Out, "%-10s relay pid %d for %s (%s)\n", "relay", pid, id, r.NS)
	return nil
}

// Legacy ethtool commands (linux/ethtool.h), which every kernel keeps.
const (
	ethtoolSRXCSUM = 0x15
	ethtoolSTXCSUM = 0x17
)

// checksumsInSoftware turns off checksum offload, both ways, on an
// interface: what it sends carries its checksums, and what it receives is
// checked. (A veth takes a frame without checksum state as checked
// otherwise, and sends frames whose checksums are left to the hardware.)
// With transmit checksums off the kernel also drops TSO, so no frame
// longer than the MTU reaches the relay.
func checksumsInSoftware(ns, iface string) error {
	return inNS(ns, func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		for _, cmd := range []uint32{ethtoolSTXCSUM, ethtoolSRXCSUM} {
			ev := struct{ cmd, data uint32 }{cmd, 0}
			var ifr [40]byte
			copy(ifr[:unix.IFNAMSIZ-1], iface)
			*(*unsafe.Pointer)(unsafe.Pointer(&ifr[unix.IFNAMSIZ])) = unsafe.Pointer(&ev)
			_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SIOCETHTOOL, uintptr(unsafe.Pointer(&ifr[0])))
			runtime.KeepAlive(&ev)
			if e != 0 {
				return fmt.Errorf("checksum offload off on %s in %s: %w", iface, ns, e)
			}
		}
		return nil
	})
}

// inNS runs fn on a thread inside the named namespace; the thread is
// thrown away after.
func inNS(ns string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends in the namespace
		h, err := vns.GetFromName(ns)
		if err != nil {
			errc <- fmt.Errorf("namespace %s: %w", ns, err)
			return
		}
		err = vns.Set(h)
		h.Close()
		if err != nil {
			errc <- fmt.Errorf("enter namespace %s: %w", ns, err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}

// relayAlive tells whether a relay's process runs.
func relayAlive(r *RelayState) bool { return r.PID > 0 && alive(r.PID, r.NS) }

// dirSeed is the seed of what Ends[i] sends.
func (r *RelayState) dirSeed(i int) uint64 { return r.Seed + uint64(i) }

// setRelay hands a relayed link's impairment to its relay.
func setRelay(ls LinkState, dirs []topo.Impairment) error {
	r := ls.Relay
	if !relayAlive(r) {
		return fmt.Errorf("link %s: its relay (pid %d in %s) is not running; destroy the lab and deploy it again", ls.ID, r.PID, r.NS)
	}
	req := relay.Request{Op: "set"}
	for i, im := range dirs {
		req.Dirs = append(req.Dirs, relay.Config{Impair: im, Seed: r.dirSeed(i)})
	}
	if _, err := relay.Call(r.Sock, req); err != nil {
		return fmt.Errorf("link %s: %w", ls.ID, err)
	}
	return nil
}

// readRelay reads a relayed link's impairment and counters from its relay.
func readRelay(ls LinkState) (LinkReport, error) {
	r := ls.Relay
	lr := LinkReport{ID: ls.ID, Type: ls.Type, Relay: &RelayReport{NS: r.NS, PID: r.PID, Seed: r.Seed, Ceiling: relay.Ceiling}}
	if !relayAlive(r) {
		return lr, fmt.Errorf("link %s: its relay (pid %d in %s) is not running", ls.ID, r.PID, r.NS)
	}
	resp, err := relay.Call(r.Sock, relay.Request{Op: "show"})
	if err != nil {
		return lr, fmt.Errorf("link %s: %w", ls.ID, err)
	}
	if len(resp.Dirs) != 2 {
		return lr, fmt.Errorf("link %s: the relay reports %d directions", ls.ID, len(resp.Dirs))
	}
	for i, ds := range resp.Dirs {
		from, to := ls.Ends[i], ls.Ends[1-i]
		c := ds.Counters
		lr.Directions = append(lr.Directions, DirectionReport{
			Dir:  topo.Direction(from.Node, to.Node),
			From: from.Node + ":" + from.Iface, To: to.Node + ":" + to.Iface,
			Impair: ds.Config.Impair,
			Counters: &ImpairCounters{
				Passed: c.Passed, Dropped: c.Dropped, Duplicated: c.Duplicated, QueueDrops: c.QueueDrops + c.Oversize,
				Received: c.Received, Delayed: c.Delayed, Reordered: c.Reordered, Corrupted: c.Corrupted,
			},
		})
	}
	return lr, nil
}

// relayNeeded says why a change needs a relay that a link does not have.
func relayNeeded(ls LinkState, im topo.Impairment) error {
	var knobs []string
	for _, kv := range im.Set() {
		for _, k := range topo.RelayKnobs {
			if kv[0] == k && (k != topo.KnobLossBurst || im.LossBurst > 1) {
				knobs = append(knobs, k)
			}
		}
	}
	if len(knobs) == 0 {
		return nil
	}
	verb := "needs"
	if len(knobs) > 1 {
		verb = "need"
	}
	return fmt.Errorf("link %s has no impairment relay, and %s %s one (this kernel has no netem; loss, duplicate and rate work in the kernel): "+
		"a deploy puts a relay on a link whose file asks for one of %s, or has relay: true in its impair:; add it and deploy again",
		ls.ID, strings.Join(knobs, ", "), verb, strings.Join(topo.RelayKnobs, ", "))
}
