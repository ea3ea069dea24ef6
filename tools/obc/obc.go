// Package obc is the logic of the obc tool (spec APP §6.5): a writer that
// joins a broadcast layer, sends one message to every other member and
// leaves, and a reader that joins the layer and prints every message it
// receives. Options, wire bytes (the text and its NUL) and output are the
// reference's.
//
// Differences from the reference: -h and --help print the help and exit 0;
// a message too long for the broadcast MTU (1400 bytes with its NUL) is
// refused at once, where the reference sends it and the layer truncates
// it (ours drops it); failures exit 1, with the reason on stderr; the
// reader stops cleanly on SIGINT, SIGTERM or SIGHUP.
//
// Write is the writer and Read the reader; Main, the command cmd/obc runs,
// parses the command line with Parse and calls one of them.
package obc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/o7s/ouroboros/stack/dev"
	"github.com/o7s/ouroboros/tools/internal/tool"
)

// The reference's constants.
const (
	DefaultMessage = "Ouroboros multicast rocks!" // sent with a terminating NUL
	BufSize        = 256                          // the most the reader reads at once
)

// MTU is the largest SDU a broadcast layer carries (the reference's
// BROADCAST_MTU, the broadcast IPCP's MTU); longer ones are dropped.
const MTU = 1400

// MaxMessage is the longest message that fits the MTU with its NUL.
const MaxMessage = MTU - 1

// Config is what the command line asks for.
type Config struct {
	Layer   string // the broadcast layer to join
	Message string // what the writer sends
	Listen  bool   // run the reader
}

// Usage is the help text.
var Usage = `Usage: obc [OPTION]...
Sends a message to a broadcast layer, or prints what is sent to it

  -n, --name                Name of the broadcast layer (required)
  -m, --message             Message to send (default: "` + DefaultMessage + `")
  -l, --listen              Run as a reader: print every message received

The writer joins the layer, sends the message with a terminating NUL to
every other member, and leaves. The reader joins the layer and prints
"Message is <text>." for each message, reading at most ` + fmt.Sprint(BufSize) + ` bytes at a time.
A broadcast layer carries SDUs of at most 1400 bytes; longer ones are
dropped, so a message has at most ` + fmt.Sprint(MaxMessage) + ` bytes.
obc talks to the node at $OUROBOROS_SOCK (default ` + dev.DefaultSock + `).

  -h, --help                Display this help text and exit
`

// ErrHelp is returned by Parse for -h and --help.
var ErrHelp = tool.ErrHelp

// ErrUsage is an unknown argument; the reference prints the usage and
// exits 0.
var ErrUsage = errors.New("unknown argument")

// ErrNoName is a command line without a layer name; the reference prints
// NoNameMsg, a blank line and the usage, and exits 1.
var ErrNoName = errors.New("no layer name")

// NoNameMsg is the reference's line for a missing layer name.
const NoNameMsg = "Please specify a name."

// ErrTooLong is a message longer than MaxMessage.
var ErrTooLong = fmt.Errorf("message too long: a broadcast layer carries at most %d bytes, %d with the NUL", MTU, MaxMessage)

// badArg is a wrong argument: the reference prints the usage and exits 0.
func badArg(format string, a ...any) error {
	return &tool.UsageError{Usage: true, Err: fmt.Errorf("%w (%s)", ErrUsage, fmt.Sprintf(format, a...))}
}

// Parse reads the command line (without the program name): options in any
// order, each value in the next argument.
func Parse(args []string) (Config, error) {
	cfg := Config{Message: DefaultMessage}
	opts := []tool.Option{
		{Short: "-n", Long: "--name", Value: tool.StringVar(&cfg.Layer)},
		{Short: "-m", Long: "--message", Value: tool.StringVar(&cfg.Message)},
		{Short: "-l", Long: "--listen", Flag: &cfg.Listen},
	}
	if err := tool.Parse(args, opts, badArg); err != nil {
		return cfg, err
	}
	if cfg.Layer == "" {
		// NoNameMsg, a blank line and the usage.
		return cfg, &tool.UsageError{Msg: NoNameMsg + "\n", Usage: true, Status: 1, Err: ErrNoName}
	}
	if !cfg.Listen && len(cfg.Message) > MaxMessage {
		return cfg, fmt.Errorf("%w (this one has %d)", ErrTooLong, len(cfg.Message))
	}
	return cfg, nil
}

// Main is the obc command: it runs the command line args (without the
// program name) and returns the exit status.
func Main(args []string) int {
	parse := func(args []string, _ io.Writer) (Config, error) { return Parse(args) }
	return tool.Command[Config]{Name: "obc", Usage: Usage, Parse: parse, Run: start}.Main(args)
}

// start runs the reader or the writer cfg asks for.
func start(ctx context.Context, cfg Config, c *dev.Client, out io.Writer) error {
	if cfg.Listen {
		return Read(ctx, c, cfg.Layer, out)
	}
	return Write(ctx, c, cfg.Layer, cfg.Message, out)
}

// text is a received message as the reference prints it: up to its first
// NUL.
func text(b []byte) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return b[:i]
	}
	return b
}

// Write is the writer: it joins layer from c, sends msg and its NUL, and
// leaves (the flow's Close waits until the layer has taken the message).
// Failures are reported on out with the reference's lines; the returned
// error has the detail.
func Write(ctx context.Context, c *dev.Client, layer, msg string, out io.Writer) error {
	f, err := c.Join(ctx, layer)
	if err != nil {
		fmt.Fprintln(out, "Failed to join broadcast.")
		return err
	}
	defer f.Close()
	if _, err := f.Write(append([]byte(msg), 0)); err != nil {
		fmt.Fprintln(out, "Failed to write packet.")
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

// Read is the reader: it joins layer from c and prints every message it
// receives, until ctx ends (nil) or a read fails (the error).
func Read(ctx context.Context, c *dev.Client, layer string, out io.Writer) error {
	fmt.Fprintln(out, "Starting a reader.")
	f, err := c.Join(ctx, layer)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		fmt.Fprintln(out, "Failed to join broadcast.")
		return err
	}
	defer f.Close()
	fmt.Fprintln(out, "New flow.")
	stop := context.AfterFunc(ctx, func() { f.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	buf := make([]byte, BufSize)
	for {
		n, err := f.Read(buf)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			fmt.Fprintln(out, "Failed to read.")
			return fmt.Errorf("read: %w", err)
		}
		fmt.Fprintf(out, "Message is %s.\n", text(buf[:n]))
	}
}
