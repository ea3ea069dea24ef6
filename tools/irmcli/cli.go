package irmcli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/o7s/ouroboros/internal/version"
	"github.com/o7s/ouroboros/stack/ctl"
	"github.com/o7s/ouroboros/stack/dev"
	"github.com/o7s/ouroboros/stack/errs"
)

const topUsage = `Usage: irm [OPERATION]

where OPERATION in { ipcp bind unbind name help flow }

Options (before OPERATION):
    --sock PATH    control socket of onode
                   (default: $OUROBOROS_SOCK, else ` + dev.DefaultSock + `)
    -h, --help     this text (as irm help)
    --version      print the version and exit

"irm flow" is an addition of this implementation.
`

// cli is one run of irm.
type cli struct {
	ctx  context.Context
	sock string
	node *ctl.Client
	out  io.Writer // normal output
	errw io.Writer // failures and warnings
}

// Main runs irm with args (without the program name) and returns the exit
// status.
func Main(args []string, stdout, stderr io.Writer) int {
	return Run(context.Background(), args, stdout, stderr)
}

// Run is Main with a context that bounds every request to the node.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := &cli{ctx: ctx, sock: dev.SockPath(), out: stdout, errw: stderr}
	args, err := c.sockOption(args)
	c.node = ctl.NewClient(c.sock)
	if err == nil {
		err = c.top(args)
	}
	return c.report(err)
}

// sockOption consumes a leading --sock PATH (or --sock=PATH).
func (c *cli) sockOption(args []string) ([]string, error) {
	if len(args) == 0 {
		return args, nil
	}
	if p, ok := strings.CutPrefix(args[0], "--sock="); ok {
		args = append([]string{"--sock", p}, args[1:]...)
	}
	if args[0] != "--sock" {
		return args, nil
	}
	if len(args) < 2 || args[1] == "" {
		return nil, &usageError{note: "--sock needs a socket path.", usage: topUsage}
	}
	c.sock = args[1]
	return args[2:], nil
}

func (c *cli) top(args []string) error {
	if len(args) == 1 {
		switch args[0] {
		case "-h", "--help":
			_, err := io.WriteString(c.out, topUsage)
			return err
		case "--version":
			_, err := io.WriteString(c.out, version.Line("irm"))
			return err
		}
	}
	return c.dispatch(args, group{
		usage: topUsage,
		try:   "irm help",
		ops: []op{
			{"ipcp", c.ipcp},
			{"bind", c.bind},
			{"unbind", c.unbind},
			{"name", c.name},
			{"help", nil},
			{"flow", c.flow},
		},
	})
}

// op is one operation of a command group; a nil run prints the group's
// usage and succeeds (help).
type op struct {
	keyword string
	run     func(args []string) error
}

// group is a command with operations, tried in order.
type group struct {
	usage string // printed by help and when the operation is missing
	try   string // the command named in "is unknown" messages
	// keep passes the operation word on as the first argument, which the
	// operation re-parses as its first keyword (bind and unbind).
	keep bool
	ops  []op
}

// dispatch runs the first operation whose keyword args[0] abbreviates.
func (c *cli) dispatch(args []string, g group) error {
	if len(args) == 0 {
		return &usageError{usage: g.usage}
	}
	for _, o := range g.ops {
		if !matches(args[0], o.keyword) {
			continue
		}
		if o.run == nil {
			_, err := io.WriteString(c.out, g.usage)
			return err
		}
		if g.keep {
			return o.run(args)
		}
		return o.run(args[1:])
	}
	return unknown(args[0], g.try)
}

// matches reports whether word abbreviates keyword: the reference's
// matches(), under which the empty word matches every keyword.
func matches(word, keyword string) bool {
	return strings.HasPrefix(keyword, word)
}

// usageError makes Main print a usage text and fail.
type usageError struct {
	note  string // printed first, if any
	usage string
}

func (e *usageError) Error() string {
	if e.note != "" {
		return e.note + "\n" + e.usage
	}
	return e.usage
}

// textError is a message for the user, in the reference's wording
// (capitalised and punctuated), printed as it is.
type textError string

func (e textError) Error() string { return string(e) }

func textf(format string, a ...any) error { return textError(fmt.Sprintf(format, a...)) }

func unknown(word, try string) error {
	return textf("%q is unknown, try %q.", word, try)
}

// report prints what err says and returns the exit status.
func (c *cli) report(err error) int {
	if err == nil {
		return 0
	}
	var ue *usageError
	switch {
	case errors.As(err, &ue):
		io.WriteString(c.errw, ue.Error())
	case errors.Is(err, errs.ErrNode):
		fmt.Fprintf(c.errw, "Failed to communicate with the Ouroboros IPC Resource Manager daemon.\n%v\n", err)
	default:
		fmt.Fprintln(c.errw, err)
	}
	return 1
}

// warnf prints a warning that does not stop the command.
func (c *cli) warnf(format string, a ...any) {
	fmt.Fprintf(c.errw, format+"\n", a...)
}

func (c *cli) listIPCPs() ([]*ctl.IPCPInfo, error) {
	return c.node.IPCPs(c.ctx)
}

func (c *cli) listNames() ([]*ctl.NameInfo, error) {
	return c.node.Names(c.ctx)
}
