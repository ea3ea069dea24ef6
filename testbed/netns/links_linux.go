package netns

import (
	"fmt"
	"net"
	"net/netip"
	"strings"

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
func SetLinkState(lab, id string, up bool, o Options) error {
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
		if err := setIfaceState(e, up); err != nil {
			return fmt.Errorf("link %s: %w", id, err)
		}
		names = append(names, e.Node+":"+e.Iface)
	}
	state := "down"
	if up {
		state = "up"
	}
	fmt.Fprintf(o.Out, "link %s %s (%s)\n", id, state, strings.Join(names, ", "))
	return nil
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
