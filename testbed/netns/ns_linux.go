package netns

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/vishvananda/netlink"
	vns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

const (
	nsDir        = "/run/netns"
	nsPrefix     = "o7s-"
	markerPrefix = "o7s.lab="
)

// NSName is the namespace of a lab's node.
func NSName(lab, node string) string { return nsPrefix + lab + "-" + node }

// createNS creates a named namespace marked as the lab's. The calling
// goroutine's thread never leaves its namespace: the work happens on a
// thread that is thrown away.
func createNS(name, lab string) error {
	if err := nsDirMount(); err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends in the new namespace
		h, err := vns.NewNamed(name)
		if err != nil {
			errc <- fmt.Errorf("create namespace %s: %w", name, err)
			return
		}
		h.Close()
		errc <- nil
	}()
	if err := <-errc; err != nil {
		return err
	}
	return markNS(name, lab)
}

// markNS marks a namespace as the lab's (the alias of its loopback) and
// brings its loopback up.
func markNS(name, lab string) error {
	return withHandle(name, func(h *netlink.Handle) error {
		lo, err := h.LinkByName("lo")
		if err != nil {
			return err
		}
		if err := h.LinkSetAlias(lo, markerPrefix+lab); err != nil {
			return fmt.Errorf("mark namespace %s: %w", name, err)
		}
		return h.LinkSetUp(lo)
	})
}

// nsDirMount makes the namespace directory a shared mount point of its
// own, as ip netns add does before it makes its first namespace. Without
// it, the first later ip netns add mounts the directory over itself and the
// namespaces made before are hidden under it (seen here: a lab's
// namespaces could no longer be entered, destroyed or collected). The
// mount is plumbing shared with iproute2 and stays, as iproute2's does.
func nsDirMount() error {
	if err := os.MkdirAll(nsDir, 0o755); err != nil {
		return fmt.Errorf("namespace directory: %w", err)
	}
	err := unix.Mount("", nsDir, "none", unix.MS_SHARED|unix.MS_REC, "")
	if err == unix.EINVAL { // not a mount point yet
		if err := unix.Mount(nsDir, nsDir, "none", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("bind %s over itself: %w", nsDir, err)
		}
		err = unix.Mount("", nsDir, "none", unix.MS_SHARED|unix.MS_REC, "")
	}
	if err != nil {
		return fmt.Errorf("make %s a shared mount: %w", nsDir, err)
	}
	return nil
}

// withHandle runs fn with a netlink handle working inside the namespace.
func withHandle(name string, fn func(*netlink.Handle) error) error {
	ns, err := vns.GetFromName(name)
	if err != nil {
		return fmt.Errorf("namespace %s: %w", name, err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return fmt.Errorf("netlink in %s: %w", name, err)
	}
	defer h.Close()
	return fn(h)
}

// nsMarker returns the lab a namespace belongs to, or "" if it carries no
// marker of ours.
func nsMarker(name string) string {
	var lab string
	withHandle(name, func(h *netlink.Handle) error {
		lo, err := h.LinkByName("lo")
		if err == nil && strings.HasPrefix(lo.Attrs().Alias, markerPrefix) {
			lab = strings.TrimPrefix(lo.Attrs().Alias, markerPrefix)
		}
		return nil
	})
	return lab
}

// labNamespaces lists the namespaces marked as belonging to lab ("" for
// every marked namespace), mapped to their lab.
func labNamespaces(lab string) map[string]string {
	out := make(map[string]string)
	ents, _ := os.ReadDir(nsDir)
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), nsPrefix) {
			continue
		}
		if m := nsMarker(e.Name()); m != "" && (lab == "" || m == lab) {
			out[e.Name()] = m
		}
	}
	return out
}

// nsInode identifies a namespace: the inode of its file.
func nsInode(path string) (uint64, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return 0, err
	}
	return st.Ino, nil
}

// deleteNS removes a named namespace; gone already is fine.
func deleteNS(name string) error {
	p := filepath.Join(nsDir, name)
	if _, err := os.Stat(p); os.IsNotExist(err) {
		return nil
	}
	if err := vns.DeleteNamed(name); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("delete namespace %s: %w", name, err)
	}
	return nil
}
