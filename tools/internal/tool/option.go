package tool

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// ErrHelp is returned by Parse for -h and --help.
var ErrHelp = errors.New("help requested")

// UsageError is a command line that cannot run, and the reference's answer
// to it: Msg, when set, is printed first, the help text follows if Usage,
// and Status is the exit status. Err, when set, is the sentinel the
// mistake stands for, for errors.Is.
type UsageError struct {
	Msg    string
	Usage  bool
	Status int
	Err    error
}

func (e *UsageError) Error() string {
	switch {
	case e.Err != nil:
		return e.Err.Error()
	case e.Msg != "":
		return e.Msg
	}
	return "invalid arguments"
}

func (e *UsageError) Unwrap() error { return e.Err }

// Option is an option of a command line: its short and its long form (""
// for none), and either Flag, set when the option is given, or Value,
// called with the argument that follows it.
type Option struct {
	Short, Long string
	Flag        *bool
	Value       func(v string) error
}

// StringVar is a Value that keeps the argument in p.
func StringVar(p *string) func(string) error {
	return func(v string) error { *p = v; return nil }
}

// Parse reads args (without the program name) the way the reference's
// parsers do: options in any order, each value in the argument that
// follows it, and -h or --help asking for the help (ErrHelp) wherever it
// stands. The first mistake ends the reading: an argument that is no
// option is bad("Unknown option: %s.", arg), an option without its value
// bad("Option %s needs a value.", opt), and a Value's error is returned
// as it is.
func Parse(args []string, opts []Option, bad func(format string, a ...any) error) error {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "-h" || a == "--help" {
			return ErrHelp
		}
		o := find(opts, a)
		switch {
		case o == nil:
			return bad("Unknown option: %s.", a)
		case o.Flag != nil:
			*o.Flag = true
		case i+1 == len(args):
			return bad("Option %s needs a value.", a)
		default:
			i++
			if err := o.Value(args[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

func find(opts []Option, a string) *Option {
	if a == "" {
		return nil
	}
	for i := range opts {
		if o := &opts[i]; a == o.Short || a == o.Long {
			return o
		}
	}
	return nil
}

// SplitNumber splits what the reference's strtol reads from what it
// leaves: the leading signs and digits, and the rest (the unit).
func SplitNumber(s string) (num, rest string) {
	rest = strings.TrimLeft(s, "+-0123456789")
	return s[:len(s)-len(rest)], rest
}

// ParseTime reads a time in milliseconds the way the reference's time_mul
// does: a whole number and a unit, ms or none (×1), s, m, h or d; no
// number at all is 0. A unit it does not know is "Unknown time unit:
// <unit>."; a number that is negative, not one, or above maxMS once
// multiplied is "Invalid time: <s>.", with the help text after it when
// usage is set. Both exit 1.
func ParseTime(s string, maxMS int64, usage bool) (int64, error) {
	num, unit := SplitNumber(s)
	var mul int64
	switch unit {
	case "", "ms":
		mul = 1
	case "s":
		mul = 1000
	case "m":
		mul = 60 * 1000
	case "h":
		mul = 60 * 60 * 1000
	case "d":
		mul = 24 * 60 * 60 * 1000
	default:
		return 0, &UsageError{Msg: fmt.Sprintf("Unknown time unit: %s.", unit), Status: 1}
	}
	if num == "" {
		return 0, nil // strtol reads nothing: 0, as the reference
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || n > maxMS/mul {
		return 0, &UsageError{Msg: fmt.Sprintf("Invalid time: %s.", s), Usage: usage, Status: 1}
	}
	return n * mul, nil
}

// ClampSize is the reference's last word on a packet size: one above hi
// is hi, with the note "Packet size truncated to <hi> bytes.", one below
// lo is lo, with "Packet size set to <lo> bytes."; notes go to out.
func ClampSize(size, lo, hi int, out io.Writer) int {
	switch {
	case size > hi:
		fmt.Fprintf(out, "Packet size truncated to %d bytes.\n", hi)
		return hi
	case size < lo:
		fmt.Fprintf(out, "Packet size set to %d bytes.\n", lo)
		return lo
	}
	return size
}
