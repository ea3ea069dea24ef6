package oping

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

// Packet sizes and limits of the reference.
const (
	MinSize     = 64
	MaxSize     = 1500 // the reference server reads into 1500 bytes
	MaxInterval = 10 * time.Second
	// DefaultCount is INT_MAX, the reference's "until stopped".
	DefaultCount = math.MaxInt32
)

// Config is what the command line asks for.
type Config struct {
	Listen    bool          // run the server
	Poll      bool          // server: spin over the flows, never wait
	Busy      bool          // server: serve a single flow, busy-polled
	Count     uint32        // packets to send
	Interval  time.Duration // between sends; 0 pipelines
	Flood     bool          // ping-pong: the next request when the reply is in
	FloodBusy bool          // ping-pong with non-blocking busy reads
	Name      string        // the server's name
	QoS       qos.Spec      // of the flow
	Size      int           // bytes per packet, MinSize to MaxSize
	Quiet     bool          // client: only the summary; server: no per-packet lines
	TimeOfDay bool          // prefix reply lines with the time of day
}

// DefaultConfig is the reference's defaults.
func DefaultConfig() Config {
	return Config{Count: DefaultCount, Interval: time.Second, QoS: qos.Raw, Size: MinSize}
}

// Usage is the help text.
var Usage = `Usage: oping [OPTION]...

Checks liveness between a client and a server
and reports the Round Trip Time (RTT)

  -l, --listen            Run in server mode
      --poll              Server polls its flows without waiting
                          (lower latency, keeps a core busy)
      --busy              Server uses busy-poll (single flow)

  -c, --count             Number of packets (default: until stopped)
  -d, --duration          Duration of the test: sets the count to
                          duration/interval (duration*10 with -i 0)
  -f, --flood             Ping-pong: send the next packet as soon as
                          the reply arrives
  -F, --flood-busy        Flood with busy-polling (lower latency)
  -i, --interval          Interval (default 1000ms, at most 10s);
                          0 sends without waiting for replies
  -n, --server-name       Name of the oping server
  -q, --qos               QoS (raw, best, video, voice, data; default raw).
                          All but raw run FRCT: in-order delivery, and for
                          data retransmission of what is lost
  -s, --size              Payload size (B, default 64, from 64 to 1500)
  -Q, --quiet             Only print final statistics
                          (server: no line per packet)
  -D, --timeofday         Print time of day before each line

Times are a whole number with an optional unit: ms (the default), s, m, h
or d, e.g. -i 10ms or -d 5s.

The statistics end with an rtt p50/p99 line, an addition to the reference.
oping talks to the node at $OUROBOROS_SOCK (default ` + dev.DefaultSock + `).
SIGINT, SIGTERM and SIGHUP stop the client, which prints its statistics.

  -h, --help              Display this help text and exit
`

// ErrHelp is returned by Parse for -h and --help.
var ErrHelp = tool.ErrHelp

// UsageError is a command line that cannot run. Msg, when set, is the line
// to print; Usage says whether the help text follows; Status, the exit
// status, is always 1.
type UsageError = tool.UsageError

// badArg is a wrong command line: the reference prints the line and the
// usage, and exits 1.
func badArg(format string, a ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, a...), Usage: true, Status: 1}
}

// Parse reads the command line (without the program name) the way the
// reference does: options in any order, each value in the next argument.
// The notes the reference prints while parsing (clamped values, unknown
// QoS) go to out.
func Parse(args []string, out io.Writer) (Config, error) {
	cfg := DefaultConfig()
	var duration int64
	var qosName string
	opts := []tool.Option{
		{Short: "-l", Long: "--listen", Flag: &cfg.Listen},
		{Long: "--poll", Flag: &cfg.Poll},
		{Long: "--busy", Flag: &cfg.Busy},
		{Short: "-c", Long: "--count", Value: func(v string) (err error) { cfg.Count, err = parseCount(v); return err }},
		{Short: "-d", Long: "--duration", Value: func(v string) (err error) { duration, err = ParseTime(v); return err }},
		{Short: "-f", Long: "--flood", Flag: &cfg.Flood},
		{Short: "-F", Long: "--flood-busy", Flag: &cfg.FloodBusy},
		{Short: "-i", Long: "--interval", Value: func(v string) error {
			ms, err := ParseTime(v)
			cfg.Interval = time.Duration(ms) * time.Millisecond
			return err
		}},
		{Short: "-n", Long: "--server-name", Value: tool.StringVar(&cfg.Name)},
		{Short: "-q", Long: "--qos", Value: tool.StringVar(&qosName)},
		{Short: "-s", Long: "--size", Value: func(v string) (err error) { cfg.Size, err = parseSize(v); return err }},
		{Short: "-Q", Long: "--quiet", Flag: &cfg.Quiet},
		{Short: "-D", Long: "--timeofday", Flag: &cfg.TimeOfDay},
	}
	if err := tool.Parse(args, opts, badArg); err != nil {
		return cfg, err
	}
	return finish(cfg, duration, qosName, out)
}

// Main is the oping command: it runs the command line args (without the
// program name), the server (-l) or the client, and returns the exit
// status.
func Main(args []string) int {
	listen := func(cfg Config) bool { return cfg.Listen }
	return tool.Command[Config]{Name: "oping", Usage: Usage, Parse: Parse, Listen: listen, Serve: Serve, Run: Run}.Main(args)
}

// finish applies what the reference does after the option loop, in its
// order.
func finish(cfg Config, duration int64, qosName string, out io.Writer) (Config, error) {
	if duration > 0 {
		ms := cfg.Interval.Milliseconds()
		n := duration * 10
		if ms > 0 {
			n = duration / ms
		}
		cfg.Count = uint32(min(n, math.MaxUint32))
	}
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
	if cfg.Name == "" {
		return cfg, badArg("No server specified.")
	}
	if cfg.Interval > MaxInterval {
		fmt.Fprintln(out, "Ping interval truncated to 10s.")
		cfg.Interval = MaxInterval
	}
	cfg.Size = tool.ClampSize(cfg.Size, MinSize, MaxSize, out)
	return cfg, nil
}

// ParseTime reads a time in milliseconds (tool.ParseTime); an invalid
// number is followed by the usage.
func ParseTime(s string) (int64, error) { return tool.ParseTime(s, math.MaxInt64, true) }

func parseCount(s string) (uint32, error) {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, badArg("Invalid count: %s.", s)
	}
	return uint32(n), nil
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
		return fmt.Errorf("oping: %w: no server name", dev.ErrInvalid)
	case c.Size < MinSize || c.Size > MaxSize:
		return fmt.Errorf("oping: %w: size %d is outside [%d, %d]", dev.ErrInvalid, c.Size, MinSize, MaxSize)
	case c.Interval < 0:
		return fmt.Errorf("oping: %w: negative interval", dev.ErrInvalid)
	}
	return nil
}
