// Package oecho is the logic of the oecho tool (spec APP §6.3): a client
// that sends one message to the name "oecho" and prints the reply, and a
// server that echoes one message per flow. Messages, wire bytes (the text
// and its NUL, 16 bytes) and output are the reference's.
//
// Differences from the reference: the server waits up to a second for the
// client to hang up before it deallocates a flow (see linger); -h and
// --help print the help; failures exit 1, with the reason on stderr.
package oecho

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/o7s/ouroboros/stack/dev"
	"github.com/o7s/ouroboros/stack/qos"
	"github.com/o7s/ouroboros/tools/internal/tool"
)

// The reference's constants.
const (
	Name    = "oecho"           // the service name
	Message = "Client says hi!" // sent with a terminating NUL
	BufSize = 256               // the most either side reads
)

// Usage is the help text.
var Usage = `Usage: oecho [OPTION]...
Sends an echo between a server and a client

  -l, --listen              Run in server mode

The client allocates a raw flow to the name oecho, sends "` + Message + `",
prints the reply and exits; the server echoes one message per flow.
oecho talks to the node at $OUROBOROS_SOCK (default ` + dev.DefaultSock + `).

  -h, --help                Display this help text and exit
`

// ErrHelp is returned by Parse for -h and --help.
var ErrHelp = tool.ErrHelp

// ErrUsage is any other argument; the reference prints the usage and
// exits 0.
var ErrUsage = errors.New("unknown argument")

// Parse reads the command line (without the program name): it reports
// whether to run the server.
func Parse(args []string) (listen bool, err error) {
	err = tool.Parse(args, []tool.Option{{Short: "-l", Long: "--listen", Flag: &listen}}, badArg)
	return listen, err
}

// badArg is a wrong argument: the reference prints the usage and exits 0.
func badArg(format string, a ...any) error {
	return &tool.UsageError{Usage: true, Err: fmt.Errorf("%w (%s)", ErrUsage, fmt.Sprintf(format, a...))}
}

// Main is the oecho command: it runs the command line args (without the
// program name) and returns the exit status.
func Main(args []string) int {
	parse := func(args []string, _ io.Writer) (bool, error) { return Parse(args) }
	return tool.Command[bool]{Name: "oecho", Usage: Usage, Parse: parse, Run: start}.Main(args)
}

// start runs the server (listen) or the client.
func start(ctx context.Context, listen bool, c *dev.Client, out io.Writer) error {
	if listen {
		return Serve(ctx, c, out)
	}
	return Run(ctx, c, out)
}

// text is a received message as the reference prints it: up to its first
// NUL.
func text(b []byte) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return b[:i]
	}
	return b
}

// read reads one SDU of at most BufSize bytes; ctx ending interrupts it.
func read(ctx context.Context, f *dev.Flow, buf []byte) (int, error) {
	stop := context.AfterFunc(ctx, func() { f.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	n, err := f.Read(buf)
	if err != nil && ctx.Err() != nil {
		return n, ctx.Err()
	}
	return n, err
}

// Run is the client: it sends Message to Name over a raw flow from c and
// prints the reply to out. Failures are reported on out with the
// reference's lines; the returned error has the detail.
func Run(ctx context.Context, c *dev.Client, out io.Writer) error {
	f, err := c.Alloc(ctx, Name, qos.Raw)
	if err != nil {
		fmt.Fprintln(out, "Failed to allocate flow.")
		return err
	}
	defer f.Close()
	if _, err := f.Write(append([]byte(Message), 0)); err != nil {
		fmt.Fprintln(out, "Failed to write packet.")
		return fmt.Errorf("write: %w", err)
	}
	buf := make([]byte, BufSize)
	n, err := read(ctx, f, buf)
	if err != nil {
		fmt.Fprintln(out, "Failed to read packet.")
		return fmt.Errorf("read: %w", err)
	}
	fmt.Fprintf(out, "Server replied with %s\n", text(buf[:n]))
	return nil
}

// Serve is the server: for every flow it accepts on c, it reads one
// message, prints it, echoes it and deallocates the flow, until ctx ends
// (nil) or accepting fails (the error).
func Serve(ctx context.Context, c *dev.Client, out io.Writer) error {
	fmt.Fprintln(out, "Starting the server.")
	buf := make([]byte, BufSize)
	for {
		f, err := c.Accept(ctx)
		if ctx.Err() != nil {
			if f != nil {
				f.Close()
			}
			return nil
		}
		if err != nil {
			fmt.Fprintln(out, "Failed to accept flow.")
			return err
		}
		fmt.Fprintln(out, "New flow.")
		if echo(ctx, f, buf, out) {
			linger(ctx, f, buf)
		}
		f.Close()
	}
}

// lingerFor bounds how long the server waits for the client to hang up.
const lingerFor = time.Second

// linger waits until the client has hung up, at most lingerFor, before the
// server deallocates the flow. The reference's dealloc waits until the
// flow's queue towards the peer is empty; this library's Close does not,
// and closing at once can lose the echo on its way through an IPCP.
func linger(ctx context.Context, f *dev.Flow, buf []byte) {
	f.SetReadDeadline(time.Now().Add(lingerFor))
	for {
		if _, err := read(ctx, f, buf); err != nil {
			return
		}
	}
}

// echo reads one message and echoes it; it reports whether it did.
func echo(ctx context.Context, f *dev.Flow, buf []byte, out io.Writer) bool {
	n, err := read(ctx, f, buf)
	if err != nil {
		fmt.Fprintln(out, "Failed to read packet.")
		return false
	}
	fmt.Fprintf(out, "Message from client is %s.\n", text(buf[:n]))
	if _, err := f.Write(buf[:n]); err != nil {
		fmt.Fprintln(out, "Failed to write packet.")
		return false
	}
	return true
}
