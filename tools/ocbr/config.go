package ocbr

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"

	"github.com/o7s/ouroboros/stack/dev"
	"github.com/o7s/ouroboros/stack/qos"
	"github.com/o7s/ouroboros/tools/internal/tool"
)

// Defaults and limits, as the reference's.
const (
	MaxSize         = 524288 // the reference's buffer
	DefaultSize     = 1000
	DefaultDuration = 60 * time.Second
	DefaultRate     = 1_000_000 // b/s
	DefaultInterval = time.Second
	DefaultTimeout  = time.Second
	MaxFlows        = 10 // flows the server tests at once
)

// Config is what the command line asks for.
type Config struct {
	Listen bool // run the server

	// Server.
	Interval time.Duration // between two reports on a flow, > 0
	Timeout  time.Duration // silence that ends a flow's test, > 0

	// Client.
	Name     string        // the server's name
	Duration time.Duration // of the test
	Size     int           // bytes per packet, 0 to MaxSize
	Rate     int64         // b/s, > 0
	Flood    bool          // send as fast as possible
	Spin     bool          // busy-wait between packets rather than sleep
	QoS      qos.Spec      // of the flow (ours; the reference's is raw)
}

// DefaultConfig is the reference's defaults.
func DefaultConfig() Config {
	return Config{Interval: DefaultInterval, Timeout: DefaultTimeout, Duration: DefaultDuration,
		Size: DefaultSize, Rate: DefaultRate, QoS: qos.Raw}
}

// Usage is the help text; its title is the reference's.
var Usage = `Usage: cbr [OPTION]...
Sends packets from client to server at a constant bit rate.

  -l, --listen              Run in server mode

Server options:
  -i, --interval            Server report interval (s, default 1)
  -t, --timeout             Server timeout interval (s, default 1)

Client options:
  -n, --server_apn          Specify the name of the server.
  -d, --duration            Duration for sending (s, default 60)
  -f, --flood               Send packets as fast as possible
  -s, --size                packet size (B, default 1000, max ` + strconv.Itoa(MaxSize) + ` B;
                            a flow of this version carries at most 65535)
  -r, --rate                Rate (b/s, default 1000000): a whole number,
                            optionally with a unit k, M or G
      --sleep               Sleep in between sending packets (default)
      --spin                Spin CPU between sending packets
  -q, --qos                 QoS (raw, best, video, voice, data; default raw).
                            Ours: the reference always uses raw. The others
                            run FRCT (data retransmits what is lost), and
                            the server's reports and the client's statistics
                            get an FRCT line: retransmissions, duplicates

A paced packet starts with its sequence number (64 bits, little-endian).
The server tests up to 10 flows at once and prints, per flow and interval,
the packets and bytes received, packets/s and Mb/s; a flow silent for the
timeout ends with a last report.
ocbr talks to the node at $OUROBOROS_SOCK (default ` + dev.DefaultSock + `).
SIGINT, SIGTERM and SIGHUP stop the client, which prints its statistics.

  -h, --help                Display this help text and exit
`

// ErrHelp is returned by Parse for -h and --help.
var ErrHelp = tool.ErrHelp

// UsageError is a command line that cannot run: Msg, when set, is the line
// to print, Usage says whether the help text follows, and Status is the
// exit status (the reference's: 0 for an unknown option, 1 otherwise).
type UsageError = tool.UsageError

// badArg is an unknown option or a missing value: the reference prints the
// usage and exits 0.
func badArg(format string, a ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, a...), Usage: true}
}

// fail is a wrong value: the line, exit 1.
func fail(format string, a ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, a...), Status: 1}
}

// Parse reads the command line (without the program name) the way the
// reference does: options in any order, each value in the next argument.
// The notes it prints while parsing (an unknown QoS) go to out.
func Parse(args []string, out io.Writer) (Config, error) {
	cfg := DefaultConfig()
	var sleep bool // the default; --spin wins
	var qosName string
	opts := []tool.Option{
		{Short: "-l", Long: "--listen", Flag: &cfg.Listen},
		{Short: "-i", Long: "--interval", Value: seconds(&cfg.Interval, "interval", 1)},
		{Short: "-t", Long: "--timeout", Value: seconds(&cfg.Timeout, "timeout", 1)},
		{Short: "-n", Long: "--server_apn", Value: tool.StringVar(&cfg.Name)},
		{Short: "-d", Long: "--duration", Value: seconds(&cfg.Duration, "duration", 0)},
		{Short: "-s", Long: "--size", Value: func(v string) (err error) { cfg.Size, err = parseSize(v); return err }},
		{Short: "-r", Long: "--rate", Value: func(v string) (err error) { cfg.Rate, err = ParseRate(v); return err }},
		{Short: "-f", Long: "--flood", Flag: &cfg.Flood},
		{Long: "--sleep", Flag: &sleep},
		{Long: "--spin", Flag: &cfg.Spin},
		{Short: "-q", Long: "--qos", Value: tool.StringVar(&qosName)},
	}
	if err := tool.Parse(args, opts, badArg); err != nil {
		return cfg, err
	}
	return finish(cfg, qosName, out)
}

// Main is the ocbr command: it runs the command line args (without the
// program name), the server (-l) or the client, and returns the exit
// status.
func Main(args []string) int {
	listen := func(cfg Config) bool { return cfg.Listen }
	return tool.Command[Config]{Name: "ocbr", Usage: Usage, Parse: Parse, Listen: listen, Serve: Serve, Run: Run}.Main(args)
}

// finish applies what the reference checks after the option loop, in its
// order; the client's values only for the client.
func finish(cfg Config, qosName string, out io.Writer) (Config, error) {
	if qosName != "" {
		if qs, ok := qos.ByName(qosName); ok {
			cfg.QoS = qs
		} else {
			fmt.Fprintln(out, "Unknown QoS cube, defaulting to raw.")
		}
	}
	if cfg.Listen {
		return cfg, nil
	}
	switch {
	case cfg.Name == "":
		return cfg, &UsageError{Msg: "No server specified.", Usage: true, Status: 1}
	case cfg.Size > MaxSize:
		return cfg, fail("Maximum size: %d.", MaxSize)
	case cfg.Size < 0:
		return cfg, fail("Size overflow.")
	case cfg.Rate <= 0:
		return cfg, fail("Invalid rate.")
	}
	return cfg, nil
}

// seconds reads a whole number of seconds, at least least, into *d.
func seconds(d *time.Duration, what string, least int64) func(string) error {
	return func(v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < least || n > math.MaxInt64/int64(time.Second) {
			return fail("Invalid %s: %s.", what, v)
		}
		*d = time.Duration(n) * time.Second
		return nil
	}
}

// parseSize reads a size; one out of range is kept as the largest or the
// smallest number, for finish to refuse as the reference does.
func parseSize(v string) (int, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, fail("Invalid size: %s.", v)
	}
	return int(max(min(n, math.MaxInt32), math.MinInt32)), nil
}

// ParseRate reads a rate in b/s: a whole number with an optional unit, k
// (×1000), M (×10^6) or G (×10^9), as the reference's. No number is 0, which
// finish refuses, as the reference's strtol does.
func ParseRate(v string) (int64, error) {
	num, unit := tool.SplitNumber(v)
	var mul int64
	switch unit {
	case "":
		mul = 1
	case "k":
		mul = 1000
	case "M":
		mul = 1_000_000
	case "G":
		mul = 1_000_000_000
	default:
		return 0, fail("Unknown rate unit: %s.", unit)
	}
	if num == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n > math.MaxInt64/mul || n < math.MinInt64/mul {
		return 0, fail("Invalid rate.")
	}
	return n * mul, nil
}

// checkClient is what Run needs of a Config built in code.
func (c *Config) checkClient() error {
	switch {
	case c.Name == "":
		return fmt.Errorf("ocbr: %w: no server name", dev.ErrInvalid)
	case c.Size < 0 || c.Size > MaxSize:
		return fmt.Errorf("ocbr: %w: size %d is outside [0, %d]", dev.ErrInvalid, c.Size, MaxSize)
	case c.Rate <= 0:
		return fmt.Errorf("ocbr: %w: rate %d b/s", dev.ErrInvalid, c.Rate)
	case c.Duration < 0:
		return fmt.Errorf("ocbr: %w: negative duration", dev.ErrInvalid)
	}
	return nil
}

// checkServer is what Serve needs of a Config built in code.
func (c *Config) checkServer() error {
	if c.Interval <= 0 || c.Timeout <= 0 {
		return fmt.Errorf("ocbr: %w: interval %v and timeout %v must be positive", dev.ErrInvalid, c.Interval, c.Timeout)
	}
	return nil
}
