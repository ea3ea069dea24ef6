package operf

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"time"

	"github.com/o7s/ouroboros/stack/dev"
	"github.com/o7s/ouroboros/stack/qos"
	"github.com/o7s/ouroboros/tools/internal/tool"
)

// Defaults and limits.
const (
	MinSize         = 64
	MaxSize         = dev.MaxSDU
	DefaultSize     = 1500
	DefaultDuration = 60 * time.Second
	DefaultRate     = 1_000_000 // b/s
)

// Config is what the command line asks for.
type Config struct {
	Listen   bool          // run the server
	Test     Test          // uni or bi
	Name     string        // the server's name
	Duration time.Duration // of the test, whole milliseconds
	Rate     uint64        // b/s, when not flooding
	Size     int           // bytes per packet, MinSize to MaxSize
	Flood    bool          // send as fast as possible
	Sleep    bool          // sleep between packets rather than spin
	Quiet    bool          // server: no line per packet
	QoS      qos.Spec      // of the flow (ours; the reference always uses raw)
}

// DefaultConfig is the reference's defaults.
func DefaultConfig() Config {
	return Config{Test: Uni, Duration: DefaultDuration, Rate: DefaultRate, Size: DefaultSize, QoS: qos.Raw}
}

// Usage is the help text.
var Usage = `Usage: operf [OPTION]...
Measures bandwidth between a client and a server
  -l, --listen              Run in server mode
  -t, --test                The type of test [uni, bi] (default uni):
                            the server counts (uni) or echoes (bi)
  -n, --server-name         Name of the operf server
  -d, --duration            Test duration (default 60s); a whole number
                            with a unit ms, s, m, h or d; no unit is ms
  -r, --rate                Rate in b/s (default 1M): a whole number with
                            a unit k, M or G; no unit is k (kb/s)
  -s, --size                Payload size (B, default 1500, from 64 to ` + strconv.Itoa(MaxSize) + `)
  -f, --flood               Send packets as fast as possible
      --sleep               Sleep in between sending packets
                            (default: wait by spinning at the end of a gap)
  -Q, --quiet               Server: no line per packet received
  -q, --qos                 QoS of the flow [raw, best, video, voice, data]
                            (default raw, the reference's only one); with
                            an in-order QoS the flow runs FRCT and both
                            ends print its counters at the end (ours)

The client prints what it sent (and, for bi, what came back) at the end.
The server prints a line per flow when the flow ends or times out (1 s
without packets): packets, bytes, time from the first to the last packet,
packets/s and Mb/s. The client's statistics for uni, -Q and the server's
per-flow line are additions to the reference.
operf talks to the node at $OUROBOROS_SOCK (default ` + dev.DefaultSock + `).
SIGINT, SIGTERM and SIGHUP stop the client, which prints its statistics.

  -h, --help                Display this help text and exit
`

// ErrHelp is returned by Parse for -h and --help.
var ErrHelp = tool.ErrHelp

// UsageError is a command line that cannot run: Msg, when set, is the line
// to print, Usage says whether the help text follows, and Status is the
// exit status (the reference's: 0 for an unknown option, 1 otherwise).
type UsageError = tool.UsageError

// badArg is a wrong argument: the reference prints the usage and exits 0.
func badArg(format string, a ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, a...), Usage: true}
}

// fail is an error the reference exits 1 for, without the usage.
func fail(format string, a ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, a...), Status: 1}
}

// Parse reads the command line (without the program name) the way the
// reference does: options in any order, each value in the next argument.
// The notes the reference prints (clamped sizes) go to out.
func Parse(args []string, out io.Writer) (Config, error) {
	cfg := DefaultConfig()
	test := "uni"
	opts := []tool.Option{
		{Short: "-l", Long: "--listen", Flag: &cfg.Listen},
		{Short: "-t", Long: "--test", Value: tool.StringVar(&test)},
		{Short: "-n", Long: "--server-name", Value: tool.StringVar(&cfg.Name)},
		{Short: "-d", Long: "--duration", Value: func(v string) error {
			ms, err := ParseTime(v)
			cfg.Duration = time.Duration(ms) * time.Millisecond
			return err
		}},
		{Short: "-r", Long: "--rate", Value: func(v string) (err error) { cfg.Rate, err = ParseRate(v); return err }},
		{Short: "-s", Long: "--size", Value: func(v string) (err error) { cfg.Size, err = parseSize(v); return err }},
		{Short: "-f", Long: "--flood", Flag: &cfg.Flood},
		{Long: "--sleep", Flag: &cfg.Sleep},
		{Short: "-Q", Long: "--quiet", Flag: &cfg.Quiet},
		{Short: "-q", Long: "--qos", Value: func(v string) error {
			if qs, ok := qos.ByName(v); ok {
				cfg.QoS = qs
			} else {
				fmt.Fprintln(out, "Unknown QoS cube, defaulting to raw.")
			}
			return nil
		}},
	}
	if err := tool.Parse(args, opts, badArg); err != nil {
		return cfg, err
	}
	return finish(cfg, test, out)
}

// Main is the operf command: it runs the command line args (without the
// program name), the server (-l) or the client, and returns the exit
// status.
func Main(args []string) int {
	listen := func(cfg Config) bool { return cfg.Listen }
	return tool.Command[Config]{Name: "operf", Usage: Usage, Parse: Parse, Listen: listen, Serve: Serve, Run: Run}.Main(args)
}

func finish(cfg Config, test string, out io.Writer) (Config, error) {
	if cfg.Listen {
		return cfg, nil
	}
	if cfg.Name == "" {
		return cfg, fail("No server specified.")
	}
	switch test {
	case "uni":
		cfg.Test = Uni
	case "bi":
		cfg.Test = Bi
	default:
		return cfg, fail("Invalid test type.")
	}
	if cfg.Rate == 0 && !cfg.Flood {
		return cfg, fail("Invalid rate: 0 b/s.")
	}
	cfg.Size = tool.ClampSize(cfg.Size, MinSize, MaxSize, out)
	return cfg, nil
}

// ParseTime reads a time in milliseconds (tool.ParseTime) that fits a
// time.Duration.
func ParseTime(s string) (int64, error) {
	return tool.ParseTime(s, math.MaxInt64/int64(time.Millisecond), false)
}

// ParseRate reads a rate in b/s: a whole number and a unit, k or none
// (×1000), M (×10^6) or G (×10^9), as the reference's rate_mul.
func ParseRate(s string) (uint64, error) {
	num, unit := tool.SplitNumber(s)
	var mul uint64
	switch unit {
	case "", "k":
		mul = 1000
	case "M":
		mul = 1_000_000
	case "G":
		mul = 1_000_000_000
	default:
		return 0, fail("Unknown rate unit: %s.", unit)
	}
	n, err := strconv.ParseUint(num, 10, 64)
	if err != nil || n > math.MaxUint64/mul {
		return 0, fail("Invalid rate: %s.", s)
	}
	return n * mul, nil
}

func parseSize(s string) (int, error) {
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return 0, badArg("Invalid size: %s.", s)
	}
	return int(n), nil
}

// check is what Run needs of a Config built in code.
func (c *Config) check() error {
	switch {
	case c.Name == "":
		return fmt.Errorf("operf: %w: no server name", dev.ErrInvalid)
	case c.Size < MinSize || c.Size > MaxSize:
		return fmt.Errorf("operf: %w: size %d is outside [%d, %d]", dev.ErrInvalid, c.Size, MinSize, MaxSize)
	case c.Test != Uni && c.Test != Bi:
		return fmt.Errorf("operf: %w: test type %v", dev.ErrInvalid, c.Test)
	case !c.Flood && c.Rate == 0:
		return fmt.Errorf("operf: %w: rate 0", dev.ErrInvalid)
	}
	return nil
}
