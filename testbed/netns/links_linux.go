package netns

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	vns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// vethEnd is one end of a veth pair: the namespace and the name inside it.
type vethEnd struct {
	NS, Iface string
	MTU       int
	Addr      netip.Prefix // optional
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
