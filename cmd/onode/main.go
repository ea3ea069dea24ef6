// Command onode is the Ouroboros node daemon: the IPC Resource Manager and
// the IPC processes of one system.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"syscall"

	"github.com/o7s/ouroboros/internal/prof"
	"github.com/o7s/ouroboros/internal/version"
	"github.com/o7s/ouroboros/stack/dev"
	"github.com/o7s/ouroboros/stack/irm"
)

const usage = `Usage: onode [OPTIONS]

The Ouroboros node daemon: the IPC Resource Manager (names, bindings,
registrations, flow brokering) and the IPC processes of this system. Programs
reach it through its control socket; so does irm.

Options:
  --sock PATH        control socket (default $OUROBOROS_SOCK, else %s)
  --config FILE      apply a configuration file at start: the reference's
                     TOML tables [name.<n>] (lb, prog, args),
                     [local.<ipcp>], [eth-dix.<ipcp>], [eth-llc.<ipcp>],
                     [udp4.<ipcp>], [udp6.<ipcp>] (bootstrap, hash, reg,
                     dev, ethertype, ip, port, dns), and [unicast.<ipcp>],
                     [broadcast.<ipcp>] (bootstrap or enrol, autobind,
                     reg, conn, and the unicast layer's options); shims
                     first, then the others in file order; an enrolment
                     whose enroller cannot be reached yet is tried again
                     for up to 60 s (the reference tries once)
  --security-dir DIR the names' default encryption configuration:
                     DIR/server/<name>/enc.conf and DIR/client/<name>/enc.conf
                     (default $OUROBOROS_SECURITY_DIR, else %s); a name
                     whose file is absent has no encryption; irm name
                     create ... sencpath/cencpath set other files
  --log-level LEVEL  debug, info, warn or error (default info)
  --no-direct        never connect two local applications directly; every
                     flow goes through an IPCP (like the reference's
                     DISABLE_DIRECT_IPC build)
  --no-ports         keep the unicast IPCPs on their lower flows' socket
                     pairs, as programs are, instead of the in-process
                     path to the eth and udp IPCPs below them (for
                     comparisons; also OUROBOROS_NO_PORTS=1)
  --version          print the version and exit

onode stops cleanly on SIGINT, SIGTERM, SIGHUP or SIGQUIT. GOGC and
GOMEMLIMIT tune its garbage collector as for any Go program; with neither
set it runs with GOGC=50 (a smaller heap for an idle node).
`

func main() { os.Exit(run(os.Args[1:])) }

// gcPercent is the garbage collector's target (GOGC) onode runs with when
// its environment sets neither GOGC nor GOMEMLIMIT: the heap may grow by
// half of what is live between collections, not by all of it (and the
// smallest heap goal is 2 MiB, not 4). An idle node holds about 1 MiB of
// live heap, and the runtime keeps up to the goal resident, so this is
// what most of a lab's nodes save (issue 14). The data path allocates
// nothing per packet, so it does not collect more often. There is no
// default memory limit: one low enough to matter to an idle node would
// make a busy one collect all the time.
const gcPercent = 50

// gcDefaults sets onode's garbage collector target unless the user has
// tuned the collector (getenv is os.Getenv).
func gcDefaults(getenv func(string) string) {
	if getenv("GOGC") == "" && getenv("GOMEMLIMIT") == "" {
		debug.SetGCPercent(gcPercent)
	}
}

// defaultSecurityDir is the reference's <sysconfdir>/ouroboros/security.
const defaultSecurityDir = "/etc/ouroboros/security"

func securityDir() string {
	if d := os.Getenv("OUROBOROS_SECURITY_DIR"); d != "" {
		return d
	}
	return defaultSecurityDir
}

func run(args []string) int {
	fs := flag.NewFlagSet("onode", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprintf(os.Stderr, usage, dev.DefaultSock, defaultSecurityDir) }
	sock := fs.String("sock", dev.SockPath(), "")
	conf := fs.String("config", "", "")
	level := fs.String("log-level", "info", "")
	noDirect := fs.Bool("no-direct", false, "")
	noPorts := fs.Bool("no-ports", os.Getenv("OUROBOROS_NO_PORTS") == "1", "")
	secDir := fs.String("security-dir", securityDir(), "")
	showVersion := fs.Bool("version", false, "")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "onode: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return 2
	}
	if *showVersion {
		fmt.Print(version.Line("onode"))
		return 0
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(*level)); err != nil {
		fmt.Fprintf(os.Stderr, "onode: --log-level %q: want debug, info, warn or error\n", *level)
		return 2
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lv}))
	if err := os.MkdirAll(filepath.Dir(*sock), 0o755); err != nil {
		log.Error("cannot create the socket directory", "err", err)
		return 1
	}
	gcDefaults(os.Getenv)
	defer prof.Start("onode")()
	n, err := irm.Start(irm.Config{Sock: *sock, Log: log, NoDirect: *noDirect, NoPorts: *noPorts, SecurityDir: *secDir})
	if err != nil {
		fmt.Fprintf(os.Stderr, "onode: %v\n", err)
		return 1
	}
	defer n.Close()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
	defer stop()
	signal.Ignore(syscall.SIGPIPE)
	if *conf != "" {
		if err := n.ApplyConfig(ctx, *conf); err != nil {
			fmt.Fprintf(os.Stderr, "onode: %v\n", err)
			return 1
		}
	}
	<-ctx.Done()
	prof.Heap("onode")
	log.Info("shutting down")
	return 0
}
