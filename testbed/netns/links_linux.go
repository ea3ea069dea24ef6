package netns

import (
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/vishvananda/netlink"
	vns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// vethEnd is one end of a veth pair: the namespace and the name inside it.
type vethEnd struct {
	NS, Iface string
	MTU       int
	Addr      netip.Prefix // optional
	NoIPv6    bool         // no IPv6 address of its own (a relay's end)
}

// addVeth creates a veth pair with each end directly in its namespace (so
// nothing ever appears in the host namespace), marks both, and brings them
// up with their address.
func addVeth(lab string, a, b vethEnd) error {
	nsA, err := vns.GetFromName(a.NS)
	if err != nil {
		return fmt.Errorf("namespace %s: %w", a.NS, err)
	}
	defer nsA.Close()
	nsB, err := vns.GetFromName(b.NS)
	if err != nil {
		return fmt.Errorf("namespace %s: %w", b.NS, err)
	}
	defer nsB.Close()
	v := &netlink.Veth{
		LinkAttrs:     netlink.LinkAttrs{Name: a.Iface, Namespace: netlink.NsFd(int(nsA)), MTU: a.MTU},
		PeerName:      b.Iface,
		PeerNamespace: netlink.NsFd(int(nsB)),
	}
	if err := netlink.LinkAdd(v); err != nil {
		return fmt.Errorf("veth %s:%s--%s:%s: %w", a.NS, a.Iface, b.NS, b.Iface, err)
	}
	for _, e := range []vethEnd{a, b} {
		if err := setupIface(lab, e); err != nil {
			return err
		}
	}
	return nil
}

func setupIface(lab string, e vethEnd) error {
	return withHandle(e.NS, func(h *netlink.Handle) error {
		l, err := h.LinkByName(e.Iface)
		if err != nil {
			return fmt.Errorf("%s in %s: %w", e.Iface, e.NS, err)
		}
		h.LinkSetAlias(l, markerPrefix+lab)
		if e.MTU > 0 {
			if err := h.LinkSetMTU(l, e.MTU); err != nil {
				return fmt.Errorf("mtu of %s in %s: %w", e.Iface, e.NS, err)
			}
		}
		if e.Addr.IsValid() {
			ipn := &net.IPNet{IP: e.Addr.Addr().AsSlice(), Mask: net.CIDRMask(e.Addr.Bits(), e.Addr.Addr().BitLen())}
			addr := &netlink.Addr{IPNet: ipn}
			if e.Addr.Addr().Is6() {
				addr.Flags = unix.IFA_F_NODAD // usable at once
			}
			if err := h.AddrAdd(l, addr); err != nil {
				return fmt.Errorf("address %v on %s in %s: %w", e.Addr, e.Iface, e.NS, err)
			}
		}
		if e.NoIPv6 {
			h.LinkSetIP6AddrGenMode(l, 1) // IN6_ADDR_GEN_MODE_NONE; best effort
		}
		if err := h.LinkSetUp(l); err != nil {
			return fmt.Errorf("up %s in %s: %w", e.Iface, e.NS, err)
		}
		return nil
	})
}

// bridgeName is the bridge device inside a LAN's namespace.
const bridgeName = "br0"

// addBridge creates the bridge of a LAN inside its namespace.
func addBridge(lab, ns string) error {
	return withHandle(ns, func(h *netlink.Handle) error {
		br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: bridgeName}}
		if err := h.LinkAdd(br); err != nil {
			return fmt.Errorf("bridge in %s: %w", ns, err)
		}
		h.LinkSetAlias(br, markerPrefix+lab)
		return h.LinkSetUp(br)
	})
}

// enslave puts a port into the LAN's bridge.
func enslave(ns, port string) error {
	return withHandle(ns, func(h *netlink.Handle) error {
		br, err := h.LinkByName(bridgeName)
		if err != nil {
			return err
		}
		p, err := h.LinkByName(port)
		if err != nil {
			return err
		}
		return h.LinkSetMaster(p, br)
	})
}

// SetLinkState takes a running link down or brings it up again by its
// interfaces: both ends of a point-to-point link (veth or udp), every end
// and bridge port of a LAN named by its bridge, or one member's end and its
// port when the link is named as NODE:IFACE of a LAN. Both sides of a veth
// pair see the carrier go; nothing is recorded (the kernel is the state).
// Bringing a udp link up again restores its addresses (the kernel drops
// IPv6 ones when an interface goes down).
//
// State blackhole keeps the interfaces up (no carrier change for anyone
// to notice) and drops every frame that arrives at each of them, ARP
// included, in a chain bh-<iface> of the lab's nftables table ahead of the
// impairment's; up removes it again.
func SetLinkState(lab, id, state string, o Options) error {
	o.fill()
	l, err := LoadLab(o.Root, lab)
	if err != nil {
		return err
	}
	ends, err := l.linkEnds(id)
	if err != nil {
		return err
	}
	var names []string
	for _, e := range ends {
		switch state {
		case "blackhole":
			err = setBlackhole(lab, e, true)
		case "up":
			if err = setBlackhole(lab, e, false); err == nil {
				err = setIfaceState(e, true)
			}
		default:
			err = setIfaceState(e, false)
		}
		if err != nil {
			return fmt.Errorf("link %s: %w", id, err)
		}
		names = append(names, e.Node+":"+e.Iface)
	}
	if state == "blackhole" {
		fmt.Fprintf(o.Out, "link %s blackhole: what arrives at %s is dropped; the carrier stays up\n", id, strings.Join(names, ", "))
		return nil
	}
	fmt.Fprintf(o.Out, "link %s %s (%s)\n", id, state, strings.Join(names, ", "))
	return nil
}

// chainBlackhole + iface is a blackhole's ingress chain.
const chainBlackhole = "bh-"

// setBlackhole adds or removes the blackhole chain of one end.
func setBlackhole(lab string, e LinkEnd, on bool) error {
	c, done, err := nftConn(e.NS)
	if err != nil {
		return err
	}
	defer done()
	t, others, err := dropChains(c, lab, e.NS, chainBlackhole+e.Iface)
	if err != nil {
		return err
	}
	if on {
		ch := c.AddChain(&nftables.Chain{
			Name: chainBlackhole + e.Iface, Table: t, Type: nftables.ChainTypeFilter, Device: e.Iface,
			Hooknum: nftables.ChainHookIngress, Priority: nftables.ChainPriorityRef(-10),
		})
		c.AddRule(&nftables.Rule{Table: t, Chain: ch, UserData: tag(tagBlackhole), Exprs: []expr.Any{&expr.Counter{}, &expr.Verdict{Kind: expr.VerdictDrop}}})
	} else if others == 0 {
		c.DelTable(t)
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("nftables on %s in %s: %w", e.Iface, e.NS, err)
	}
	return nil
}

// blackholed tells whether an end has a blackhole.
func blackholed(lab string, e LinkEnd) bool {
	c, done, err := nftConn(e.NS)
	if err != nil {
		return false
	}
	defer done()
	chains, err := c.ListChainsOfTableFamily(nftables.TableFamilyNetdev)
	if err != nil {
		return false
	}
	for _, ch := range chains {
		if ch.Table != nil && ch.Table.Name == tableName(lab) && ch.Name == chainBlackhole+e.Iface {
			return true
		}
	}
	return false
}

func setIfaceState(e LinkEnd, up bool) error {
	return withHandle(e.NS, func(h *netlink.Handle) error {
		l, err := h.LinkByName(e.Iface)
		if err != nil {
			return fmt.Errorf("%s in %s: %w", e.Iface, e.NS, err)
		}
		if !up {
			return h.LinkSetDown(l)
		}
		if err := h.LinkSetUp(l); err != nil {
			return fmt.Errorf("up %s in %s: %w", e.Iface, e.NS, err)
		}
		if e.Addr == "" {
			return nil
		}
		p, err := netip.ParsePrefix(e.Addr)
		if err != nil {
			return err
		}
		addrs, err := h.AddrList(l, netlink.FAMILY_ALL)
		if err != nil {
			return err
		}
		for _, a := range addrs {
			if ip, ok := netip.AddrFromSlice(a.IP); ok && ip.Unmap() == p.Addr() {
				return nil
			}
		}
		addr := &netlink.Addr{IPNet: &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}}
		if p.Addr().Is6() {
			addr.Flags = unix.IFA_F_NODAD
		}
		if err := h.AddrAdd(l, addr); err != nil {
			return fmt.Errorf("address %v on %s in %s: %w", p, e.Iface, e.NS, err)
		}
		return nil
	})
}
