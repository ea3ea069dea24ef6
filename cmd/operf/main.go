// Command operf measures bandwidth between a client and a server (spec APP
// §6.2). The logic is in package tools/operf.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/o7s/ouroboros/stack/dev"
	"github.com/o7s/ouroboros/tools/operf"
)

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	cfg, err := operf.Parse(args, os.Stdout)
	if errors.Is(err, operf.ErrHelp) {
		fmt.Print(operf.Usage)
		return 0
	}
	var ue *operf.UsageError
	if errors.As(err, &ue) {
		if ue.Msg != "" {
			fmt.Println(ue.Msg)
		}
		if ue.Usage {
			fmt.Print(operf.Usage)
		}
		return ue.Status
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	go func() { <-ctx.Done(); stop() }() // a second signal kills
	c, err := dev.Default()
	if err != nil {
		fmt.Fprintf(os.Stderr, "operf: %v\n", err)
		return 1
	}
	defer c.Close()
	if cfg.Listen {
		err = operf.Serve(ctx, cfg, c, os.Stdout)
	} else {
		err = operf.Run(ctx, cfg, c, os.Stdout)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "operf: %v\n", err)
		return 1
	}
	return 0
}
