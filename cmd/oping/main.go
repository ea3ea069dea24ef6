// Command oping checks liveness between a client and a server and reports
// the round-trip time (spec APP §6.1). The logic is in package tools/oping.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/o7s/ouroboros/stack/dev"
	"github.com/o7s/ouroboros/tools/oping"
)

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	cfg, err := oping.Parse(args, os.Stdout)
	if errors.Is(err, oping.ErrHelp) {
		fmt.Print(oping.Usage)
		return 0
	}
	var ue *oping.UsageError
	if errors.As(err, &ue) {
		if ue.Msg != "" {
			fmt.Println(ue.Msg)
		}
		if ue.Usage {
			fmt.Print(oping.Usage)
		}
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	go func() { <-ctx.Done(); stop() }() // a second signal kills
	c, err := dev.Default()
	if err != nil {
		fmt.Fprintf(os.Stderr, "oping: %v\n", err)
		return 1
	}
	defer c.Close()
	if cfg.Listen {
		err = oping.Serve(ctx, cfg, c, os.Stdout)
	} else {
		err = oping.Run(ctx, cfg, c, os.Stdout)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "oping: %v\n", err)
		return 1
	}
	return 0
}
