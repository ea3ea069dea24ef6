// Command opause holds a container's network namespace for the testbed:
// the holder container of a docker node runs it, and the node's onode runs
// in a second container that joins the holder's namespace, so that the
// node's links (veths moved into that namespace) outlive a restart of its
// onode. It does nothing but wait for SIGTERM or SIGINT.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/o7s/ouroboros/internal/version"
)

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "--version":
			fmt.Print(version.Line("opause"))
			return
		default:
			fmt.Fprintln(os.Stderr, "Usage: opause\n\nHolds a testbed node's network namespace (the holder container of a\ndocker node): waits for SIGTERM or SIGINT and exits 0. Takes no arguments.")
			if os.Args[1] == "--help" || os.Args[1] == "-h" {
				return
			}
			os.Exit(2)
		}
	}
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	<-c
}
