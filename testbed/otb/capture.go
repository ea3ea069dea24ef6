package otb

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/o7s/ouroboros/testbed/netns"
)

const captureUse = "usage: otb capture NODE:IF [--lab LAB] [-c COUNT] [-w FILE.pcap] [--duration D]"

// capture writes the frames of a node's interface to a pcap file.
func (c *cli) capture(args []string) error {
	fs := c.flags("capture")
	lab := fs.String("lab", "", "the lab (default: the only one deployed)")
	count := fs.Int("c", 0, "stop after this many frames (0: no limit)")
	file := fs.String("w", "", "the pcap file to write (-: stdout; default: stdout unless it is a terminal)")
	dur := fs.Duration("duration", 0, "stop after this long (0: no limit)")
	pos, err := parse(fs, args)
	if err != nil || len(pos) != 1 || *count < 0 || *dur < 0 {
		return c.usageErr(captureUse)
	}
	node, iface, ok := strings.Cut(pos[0], ":")
	if !ok || node == "" || iface == "" {
		return c.usageErr("%s\notb: say which interface of the node: NODE:IF (e.g. n1:eth0)", captureUse)
	}
	name, err := c.deployedLab(*lab)
	if err != nil {
		return err
	}
	ns, err := netns.CaptureTarget(c.o.Root, name, node, iface)
	if err != nil {
		return err
	}
	var w io.Writer
	switch *file {
	case "", "-":
		if *file == "" && isTerminal(c.out) {
			return errors.New("stdout is a terminal: write the capture to a file with -w FILE.pcap (or pipe it, e.g. | tshark -r -)")
		}
		w = c.out
	default:
		f, err := os.Create(*file)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	fmt.Fprintf(c.err, "otb: capturing on %s:%s (namespace %s)\n", node, iface, ns)
	start := time.Now()
	n, err := netns.Capture(c.ctx, ns, iface, w, netns.CaptureOptions{Count: *count, Duration: *dur})
	fmt.Fprintf(c.err, "otb: %d frames captured in %s\n", n, time.Since(start).Round(time.Millisecond))
	if err != nil {
		return err
	}
	if f, ok := w.(*os.File); ok && *file != "" && *file != "-" {
		return f.Sync()
	}
	return nil
}

// isTerminal tells whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
