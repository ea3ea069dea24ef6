// Command otb is the Ouroboros testbed: see otb help.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/o7s/ouroboros/testbed/otb"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := otb.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
