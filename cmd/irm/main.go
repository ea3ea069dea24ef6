// Command irm manages an Ouroboros node (onode): its IPCPs, names and
// bindings. See package tools/irmcli and spec SYSTEM §3.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/o7s/ouroboros/tools/irmcli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := irmcli.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
