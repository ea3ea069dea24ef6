// Command obc sends a message to a broadcast layer, or prints what is sent
// to it (spec APP §6.5). The logic is in package tools/obc.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/o7s/ouroboros/stack/dev"
	"github.com/o7s/ouroboros/tools/obc"
)

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	cfg, err := obc.Parse(args)
	switch {
	case errors.Is(err, obc.ErrHelp), errors.Is(err, obc.ErrUsage): // the reference exits 0 after the usage
		fmt.Print(obc.Usage)
		return 0
	case errors.Is(err, obc.ErrNoName):
		fmt.Printf("%s\n\n%s", obc.NoNameMsg, obc.Usage)
		return 1
	case err != nil:
		fmt.Fprintf(os.Stderr, "obc: %v\n", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	go func() { <-ctx.Done(); stop() }() // a second signal kills
	c, err := dev.Default()
	if err != nil {
		fmt.Fprintf(os.Stderr, "obc: %v\n", err)
		return 1
	}
	defer c.Close()
	if cfg.Listen {
		err = obc.Read(ctx, c, cfg.Layer, os.Stdout)
	} else {
		err = obc.Write(ctx, c, cfg.Layer, cfg.Message, os.Stdout)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "obc: %v\n", err)
		return 1
	}
	return 0
}
