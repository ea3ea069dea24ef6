package tool

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/o7s/ouroboros/internal/prof"
	"github.com/o7s/ouroboros/internal/version"
	"github.com/o7s/ouroboros/stack/dev"
)

// Command is a tool as its main runs it: Parse reads the command line into
// a C, writing the notes it prints while parsing to out, and Run runs the
// tool with that C against the node, its output on out. A tool that is a
// server or a client may give its server as Serve, which runs instead of
// Run when Listen reports that the C asks for it (-l).
type Command[C any] struct {
	Name   string // the tool's, before a failure on stderr
	Usage  string // the help text
	Parse  func(args []string, out io.Writer) (C, error)
	Run    func(ctx context.Context, cfg C, c *dev.Client, out io.Writer) error
	Serve  func(ctx context.Context, cfg C, c *dev.Client, out io.Writer) error
	Listen func(cfg C) bool
}

// Main runs the command line args (without the program name) and returns
// the exit status; output goes to stdout, failures to stderr.
//
// ErrHelp prints the help text (status 0) and a UsageError its answer, as
// its fields say; any other error from Parse is a failure. Otherwise Main
// attaches to the node and runs the tool until it returns or SIGINT,
// SIGTERM or SIGHUP ends its context (a second signal kills). A failure
// is printed on stderr after the tool's name and is status 1.
func (cmd Command[C]) Main(args []string) int {
	return cmd.main(args, os.Stdout, os.Stderr, dev.Default)
}

// main is Main with its output and its node given.
func (cmd Command[C]) main(args []string, stdout, stderr io.Writer, attach func() (*dev.Client, error)) int {
	if len(args) == 1 && args[0] == "--version" {
		fmt.Fprint(stdout, version.Line(cmd.Name))
		return 0
	}
	cfg, err := cmd.Parse(args, stdout)
	var ue *UsageError
	switch {
	case errors.Is(err, ErrHelp):
		fmt.Fprint(stdout, cmd.Usage)
		return 0
	case errors.As(err, &ue):
		if ue.Msg != "" {
			fmt.Fprintln(stdout, ue.Msg)
		}
		if ue.Usage {
			fmt.Fprint(stdout, cmd.Usage)
		}
		return ue.Status
	case err != nil:
		fmt.Fprintf(stderr, "%s: %v\n", cmd.Name, err)
		return 1
	}
	defer prof.Start(cmd.Name)()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	go func() { <-ctx.Done(); stop() }() // a second signal kills
	c, err := attach()
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", cmd.Name, err)
		return 1
	}
	defer c.Close()
	run := cmd.Run
	if cmd.Listen != nil && cmd.Listen(cfg) {
		run = cmd.Serve
	}
	if err := run(ctx, cfg, c, stdout); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", cmd.Name, err)
		return 1
	}
	return 0
}
