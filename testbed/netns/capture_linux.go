package netns

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// CaptureOptions bound a capture: it stops after Count frames (0: no
// limit), after Duration (0: none), or when its context ends.
type CaptureOptions struct {
	Count    int
	Duration time.Duration
}

// CaptureTarget resolves a lab's node and one of its interfaces to the
// node's namespace, naming what exists when the node or the interface
// does not.
func CaptureTarget(root, lab, node, iface string) (string, error) {
	if root == "" {
		root = DefaultRoot
	}
	l, err := LoadLab(root, lab)
	if err != nil {
		return "", err
	}
	n, ok := l.Nodes[node]
	if !ok {
		return "", fmt.Errorf("lab %s has no node %s (nodes: %s)", lab, node, strings.Join(l.NodeNames(), ", "))
	}
	if _, _, err := linkIndex(n.NS, iface); err != nil {
		return "", fmt.Errorf("node %s: %w", node, err)
	}
	return n.NS, nil
}

// linkIndex is the index of interface iface in namespace ns; when there
// is none, the error lists the namespace's interfaces.
func linkIndex(ns, iface string) (int, []string, error) {
	var idx int
	var names []string
	err := withHandle(ns, func(h *netlink.Handle) error {
		links, err := h.LinkList()
		if err != nil {
			return fmt.Errorf("interfaces of %s: %w", ns, err)
		}
		for _, l := range links {
			a := l.Attrs()
			names = append(names, a.Name)
			if a.Name == iface {
				idx = a.Index
			}
		}
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	slices.Sort(names)
	if idx == 0 {
		return 0, names, fmt.Errorf("no interface %s in namespace %s (interfaces: %s)", iface, ns, strings.Join(names, ", "))
	}
	return idx, names, nil
}

func hton16(v uint16) uint16 { return v<<8 | v>>8 }

// Capture writes every frame that interface iface of namespace ns sends
// or receives to w as a pcap file (see PcapWriter), until o says stop or
// ctx ends, and returns how many frames it wrote. The AF_PACKET socket
// (ETH_P_ALL) is opened on a thread inside the namespace, which is thrown
// away after.
func Capture(ctx context.Context, ns, iface string, w io.Writer, o CaptureOptions) (int, error) {
	idx, _, err := linkIndex(ns, iface)
	if err != nil {
		return 0, err
	}
	if o.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Duration)
		defer cancel()
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	n := 0
	err = inNS(ns, func() error {
		// Protocol 0 until bound: the socket sees no frame of another
		// interface between socket and bind.
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("AF_PACKET socket in %s: %w", ns, err)
		}
		defer unix.Close(fd)
		if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: hton16(unix.ETH_P_ALL), Ifindex: idx}); err != nil {
			return fmt.Errorf("bind to %s in %s: %w", iface, ns, err)
		}
		if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 8<<20) != nil {
			unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 8<<20)
		}
		// A receive wakes at least this often to see whether to stop.
		tv := unix.NsecToTimeval((100 * time.Millisecond).Nanoseconds())
		if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
			return fmt.Errorf("receive timeout: %w", err)
		}
		pw, err := NewPcapWriter(bw)
		if err != nil {
			return err
		}
		if err := bw.Flush(); err != nil {
			return err
		}
		buf := make([]byte, PcapSnapLen)
		for o.Count <= 0 || n < o.Count {
			if ctx.Err() != nil {
				return nil
			}
			m, _, err := unix.Recvfrom(fd, buf, unix.MSG_TRUNC)
			if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
				continue
			}
			if err != nil {
				return fmt.Errorf("receive on %s in %s: %w", iface, ns, err)
			}
			if err := pw.WriteFrame(time.Now(), buf[:min(m, len(buf))], m); err != nil {
				return err
			}
			n++
			// Frames go out as they come (a reader on a pipe sees them),
			// unless more wait in the socket.
			if !pending(fd) {
				if err := bw.Flush(); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	return n, err
}

// pending tells whether a frame waits in the socket.
func pending(fd int) bool {
	v, err := unix.IoctlGetInt(fd, unix.SIOCINQ)
	return err == nil && v > 0
}
