package tunnels

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
	"golang.zx2c4.com/wireguard/tun"
)

// readRearm is how far ahead the tun reader's deadline is set before every
// read. Re-arming a deadline keeps the runtime's poller awake: on the VMs
// this was measured on, a netpoller read with no deadline was about ten
// times slower (design/ECOSYSTEM.md §1).
const readRearm = time.Second

// DeviceConfig is the device to make.
type DeviceConfig struct {
	TAP    bool           // Ethernet frames rather than IP packets
	Name   string         // "" lets the kernel pick tunN or tapN
	NS     netns.NsHandle // > 0: make the device inside this network namespace
	MTU    int
	IP4    netip.Prefix   // address and prefix length, if valid
	IP6    netip.Prefix   // likewise
	Routes []netip.Prefix // routes through the device
	Bridge string         // tap: an existing bridge to attach the device to
}

// OpenDevice makes the device cfg asks for, gives it its MTU, addresses
// and routes, and brings it up. The device lives as long as its file: Close
// (or the end of the process) removes it, with its addresses and routes.
//
// A tun device is opened with IFF_VNET_HDR and driven by wireguard-go's tun
// package: reads split the kernel's TSO/USO super-packets (up to 128
// packets per read), writes coalesce a batch (GRO). A tap device is a plain
// file, one frame per read and write.
func OpenDevice(cfg DeviceConfig) (Device, error) {
	if err := CheckMTU(cfg.MTU, cfg.IP6.IsValid()); err != nil {
		return nil, err
	}
	var fd int
	name := cfg.Name
	err := inNS(cfg.NS, func() (err error) { fd, name, err = openTunTap(name, cfg.TAP); return err })
	if err != nil {
		return nil, err
	}
	var d Device
	if cfg.TAP {
		d = &tapDevice{f: os.NewFile(uintptr(fd), "/dev/net/tun"), name: name}
	} else {
		td, _, err := tun.CreateUnmonitoredTUNFromFD(fd)
		if err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("tun device %s: %w", name, err)
		}
		d = &tunDevice{d: td, f: td.File(), name: name}
	}
	if err := configure(cfg, name); err != nil {
		d.Close()
		return nil, fmt.Errorf("device %s: %w", name, err)
	}
	return d, nil
}

// openTunTap opens /dev/net/tun and makes the device, in the calling
// thread's network namespace; the fd is non-blocking, for the poller.
func openTunTap(name string, tap bool) (int, string, error) {
	flags := uint16(unix.IFF_TUN | unix.IFF_NO_PI | unix.IFF_VNET_HDR)
	if tap {
		flags = unix.IFF_TAP | unix.IFF_NO_PI
		if name == "" {
			name = "tap%d"
		}
	}
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, "", fmt.Errorf("open /dev/net/tun: %w", err)
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		unix.Close(fd)
		return -1, "", err
	}
	ifr.SetUint16(flags)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		return -1, "", fmt.Errorf("TUNSETIFF: %w", err)
	}
	return fd, ifr.Name(), nil
}

// inNS runs fn in the network namespace ns (if ns > 0) on a thread of its
// own, which is never unlocked: it dies with its goroutine.
func inNS(ns netns.NsHandle, fn func() error) error {
	if ns <= 0 {
		return fn()
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := netns.Set(ns); err != nil {
			errc <- fmt.Errorf("enter the network namespace: %w", err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}

// configure sets the MTU, addresses, master and routes of the device and
// brings it up.
func configure(cfg DeviceConfig, name string) error {
	var h *netlink.Handle
	var err error
	if cfg.NS > 0 {
		h, err = netlink.NewHandleAt(cfg.NS)
	} else {
		h, err = netlink.NewHandle()
	}
	if err != nil {
		return err
	}
	defer h.Close()
	l, err := h.LinkByName(name)
	if err != nil {
		return err
	}
	if err := h.LinkSetMTU(l, cfg.MTU); err != nil {
		return fmt.Errorf("set the MTU to %d: %w", cfg.MTU, err)
	}
	for _, p := range []netip.Prefix{cfg.IP4, cfg.IP6} {
		if !p.IsValid() {
			continue
		}
		a := &netlink.Addr{IPNet: ipNet(p)}
		if p.Addr().Is6() {
			a.Flags = unix.IFA_F_NODAD // a tunnel has no one to duplicate it
		}
		if err := h.AddrAdd(l, a); err != nil {
			return fmt.Errorf("add address %s: %w", p, err)
		}
	}
	if cfg.Bridge != "" {
		br, err := h.LinkByName(cfg.Bridge)
		if err != nil {
			return fmt.Errorf("bridge %s: %w", cfg.Bridge, err)
		}
		if err := h.LinkSetMaster(l, br); err != nil {
			return fmt.Errorf("attach to bridge %s: %w", cfg.Bridge, err)
		}
	}
	if err := h.LinkSetUp(l); err != nil {
		return err
	}
	for _, r := range cfg.Routes {
		if err := h.RouteAdd(&netlink.Route{LinkIndex: l.Attrs().Index, Dst: ipNet(r.Masked())}); err != nil {
			return fmt.Errorf("add route %s: %w", r, err)
		}
	}
	return nil
}

func ipNet(p netip.Prefix) *net.IPNet {
	bits := 32
	if p.Addr().Is6() {
		bits = 128
	}
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), bits)}
}

// tunDevice is wireguard-go's tun device with a deadline re-armed before
// every read.
type tunDevice struct {
	d    tun.Device
	f    *os.File
	name string
}

func (t *tunDevice) Read(bufs [][]byte, sizes []int, offset int) (int, error) {
	t.f.SetReadDeadline(time.Now().Add(readRearm))
	return t.d.Read(bufs, sizes, offset)
}

func (t *tunDevice) Write(bufs [][]byte, offset int) (int, error) { return t.d.Write(bufs, offset) }
func (t *tunDevice) BatchSize() int                               { return t.d.BatchSize() }
func (t *tunDevice) Name() string                                 { return t.name }
func (t *tunDevice) Close() error                                 { return t.d.Close() }

// tapDevice is a tap device: one frame per read and per write.
type tapDevice struct {
	f    *os.File
	name string
}

func (t *tapDevice) Read(bufs [][]byte, sizes []int, offset int) (int, error) {
	t.f.SetReadDeadline(time.Now().Add(readRearm))
	n, err := t.f.Read(bufs[0][offset:])
	if err != nil {
		return 0, err
	}
	sizes[0] = n
	return 1, nil
}

func (t *tapDevice) Write(bufs [][]byte, offset int) (int, error) {
	var err error
	n := 0
	for _, b := range bufs {
		if _, e := t.f.Write(b[offset:]); e != nil {
			err = errors.Join(err, e)
			continue
		}
		n++
	}
	return n, err
}

func (t *tapDevice) BatchSize() int { return 1 }
func (t *tapDevice) Name() string   { return t.name }
func (t *tapDevice) Close() error   { return t.f.Close() }
