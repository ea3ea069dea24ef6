// Command oecho sends an echo between a client and a server (spec APP
// §6.3). The logic is in package tools/oecho.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/o7s/ouroboros/stack/dev"
	"github.com/o7s/ouroboros/tools/oecho"
)

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	listen, err := oecho.Parse(args)
	if errors.Is(err, oecho.ErrHelp) {
		fmt.Print(oecho.Usage)
		return 0
	}
	if err != nil { // the reference prints the usage and exits 0
		fmt.Print(oecho.Usage)
		return 0
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	go func() { <-ctx.Done(); stop() }() // a second signal kills
	c, err := dev.Default()
	if err != nil {
		fmt.Fprintf(os.Stderr, "oecho: %v\n", err)
		return 1
	}
	defer c.Close()
	if listen {
		err = oecho.Serve(ctx, c, os.Stdout)
	} else {
		err = oecho.Run(ctx, c, os.Stdout)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "oecho: %v\n", err)
		return 1
	}
	return 0
}
