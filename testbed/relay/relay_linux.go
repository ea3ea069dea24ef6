package relay

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
)

// Arg is the hidden command with which otb runs a relay in its namespace:
// otb __relay --ctl SOCK IF0 IF1.
const Arg = "__relay"

// Relay bridges two interfaces of the namespace it was started in.
type Relay struct {
	socks [2]*sock
	dirs  [2]*direction
	ln    net.Listener
	ctl   string
	done  chan error
}

// vlanTag is room for one 802.1Q tag beyond the MTU.
const vlanTag = 4

// Start opens both interfaces (in the calling thread's namespace) and the
// control socket ctl ("" for none), and starts forwarding with no
// impairment: dirs[0] forwards what arrives on if0 to if1, dirs[1] the
// other way.
func Start(if0, if1, ctl string) (*Relay, error) {
	r := &Relay{ctl: ctl, done: make(chan error, 2)}
	for i, dev := range []string{if0, if1} {
		s, err := openSock(dev)
		if err != nil {
			r.closeSocks()
			return nil, err
		}
		r.socks[i] = s
	}
	size := max(r.socks[0].mtu, r.socks[1].mtu) + EthHeader + vlanTag
	r.dirs[0] = newDirection(if0+"->"+if1, r.socks[0], r.socks[1], size)
	r.dirs[1] = newDirection(if1+"->"+if0, r.socks[1], r.socks[0], size)
	if ctl != "" {
		os.Remove(ctl) // a socket file left by a relay that was killed
		ln, err := net.Listen("unix", ctl)
		if err != nil {
			r.closeSocks()
			return nil, fmt.Errorf("control socket: %w", err)
		}
		r.ln = ln
		go serveCtl(ln, os.Getpid(), r.dirs)
	}
	for _, d := range r.dirs {
		go func() { r.done <- d.run() }()
	}
	return r, nil
}

func (r *Relay) closeSocks() {
	for _, s := range r.socks {
		if s != nil {
			s.close()
		}
	}
}

// Set gives each direction its configuration.
func (r *Relay) Set(dirs [2]Config) error {
	for i, d := range r.dirs {
		if err := d.set(dirs[i], CallTimeout); err != nil {
			return err
		}
	}
	return nil
}

// Counters are what each direction counted since it was last set.
func (r *Relay) Counters() [2]Counters {
	return [2]Counters{r.dirs[0].eng.Counters(), r.dirs[1].eng.Counters()}
}

// Close stops the relay and waits for its directions to end.
func (r *Relay) Close() error {
	if r.ln != nil {
		r.ln.Close() // removes the socket file
	}
	r.closeSocks()
	var errs []error
	for range r.dirs {
		errs = append(errs, <-r.done)
	}
	return errors.Join(errs...)
}

// Main runs a relay until SIGTERM or SIGINT: otb __relay --ctl SOCK IF0
// IF1, started by otb inside the relay's namespace.
func Main(args []string) int {
	fs := flag.NewFlagSet("otb "+Arg, flag.ContinueOnError)
	ctl := fs.String("ctl", "", "the control socket")
	if err := fs.Parse(args); err != nil || fs.NArg() != 2 || *ctl == "" {
		fmt.Fprintln(os.Stderr, "usage: otb "+Arg+" --ctl SOCK IF0 IF1 (run by otb deploy in a relay's namespace)")
		return 2
	}
	if0, if1 := fs.Arg(0), fs.Arg(1)
	// The relay's namespace sends nothing of its own (the deploy also
	// gives its interfaces no IPv6 address).
	for _, c := range []string{"all", "default", if0, if1} {
		os.WriteFile(filepath.Join("/proc/sys/net/ipv6/conf", c, "disable_ipv6"), []byte("1"), 0o644)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	r, err := Start(if0, if1, *ctl)
	if err != nil {
		fmt.Fprintf(os.Stderr, "relay: %v\n", err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "relay: pid %d forwarding %s <-> %s (buffers of %d bytes, batches of %d, at most %d frames queued each way); control socket %s\n",
		os.Getpid(), if0, if1, r.dirs[0].bufSize, Batch, MaxQueue, *ctl)
	select {
	case s := <-sig:
		fmt.Fprintf(os.Stderr, "relay: %v: stopping\n", s)
		r.Close()
		return 0
	case err := <-r.done:
		fmt.Fprintf(os.Stderr, "relay: a direction stopped: %v\n", err)
		r.ln.Close()
		r.closeSocks()
		return 1
	}
}
