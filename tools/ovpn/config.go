package ovpn

import (
	"fmt"
	"io"
	"math/bits"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/o7s/ouroboros/stack/dev"
	"github.com/o7s/ouroboros/stack/qos"
	"github.com/o7s/ouroboros/tools/internal/tool"
	"github.com/o7s/ouroboros/tunnels"
)

// Config is what the command line asks for.
type Config struct {
	Name   string         // the server to allocate a flow to; "" runs the server
	IP4    netip.Prefix   // -i and -m
	IP6    netip.Prefix   // --ip6
	Routes []netip.Prefix // --route
	TAP    bool
	Bridge string
	Dev    string // the device's name; "" lets the kernel pick
	QoS    qos.Spec
	// NS, when > 0, is the network namespace to make the device in (for
	// tests; the command makes it in its own).
	NS int
}

// Usage is the help text.
var Usage = `Usage: ovpn [OPTION]...
Sends TCP/IP traffic over Ouroboros

  -n, --name NAME           Run as client, name of ovpn server to connect to;
                            without it, run as the server
  -i, --ip ADDR             IPv4 address to give to the device
  -m, --mask MASK           Subnet mask to give to the device (with -i)
      --ip6 ADDR/PREFIX     IPv6 address and prefix length to give to it
      --route PREFIX        Route PREFIX (IPv4 or IPv6) through the device;
                            may be repeated
      --tap                 Carry Ethernet frames over a tap device rather
                            than IP packets over a tun device
      --bridge BR           Attach the tap device to the existing bridge BR
                            (with --tap; no address is needed then)
      --dev NAME            Name of the device (default: the kernel's
                            choice, tunN or tapN)
  -q, --qos QOS             QoS of the flow [raw, best, video, voice, data]
                            (default raw, the reference's only one; data
                            gives a reliable, in-order flow)
      --peer-timeout D      How long the flow may hear nothing from the
                            other end before it is taken as gone (default
                            10s; keepalives go every quarter of it): a
                            client then allocates again, a server forgets
                            the client. The QoS specs' own is 120s.

An address (-i with -m, or --ip6) is required unless --bridge is given.
The device's MTU is what the flow carries (its largest SDU), less the
Ethernet header for tap, and at most ` + fmt.Sprint(tunnels.MaxMTU) + `; IPv6 needs at least 1280.
A packet from the device larger than the flow carries is answered with
ICMP "fragmentation needed" (IPv4 with DF set) or ICMPv6 "packet too big"
on tun; an IPv4 packet without DF, and any such frame on tap, is dropped
and counted.
The client allocates a flow to the server; when the flow goes down it
allocates again, waiting 1 s, then twice as long each time, up to 30 s.
The server accepts any number of clients onto one device: it sends each
packet to the client its destination was last seen coming from (tun: IP
address, tap: MAC address); broadcast and multicast go to every client, a
tap frame to an unknown address too, and a tun packet to an unknown
address goes to the only client, or is dropped if there are several.
The device is removed when ovpn ends: SIGINT, SIGTERM, SIGHUP (or any
end of the process). At the end ovpn prints its packet counters.
ovpn must be run as root (CAP_NET_ADMIN); it talks to the node at
$OUROBOROS_SOCK (default ` + dev.DefaultSock + `).
Only -n, -i, -m and -h are the reference's; the reference sets IPv4 only,
one flow, raw QoS, no MTU.

  -h, --help                Display this help text and exit
      --version             Display the version and exit
`

// geteuid is os.Geteuid, for tests.
var geteuid = os.Geteuid

// badArg is the reference's answer to a wrong argument: the line, a blank
// line, the usage, status 1.
func badArg(format string, a ...any) error {
	return &tool.UsageError{Msg: fmt.Sprintf(format, a...) + "\n", Usage: true, Status: 1}
}

// Parse reads the command line (without the program name) as the
// reference's getopt_long does: options in any order, their values in the
// next argument, other arguments left over (and refused).
func Parse(args []string, out io.Writer) (Config, error) {
	cfg := Config{QoS: qos.Raw}
	cfg.QoS.Timeout = DefaultPeerTimeout
	for _, a := range args {
		if a == "-h" || a == "--help" {
			return cfg, tool.ErrHelp
		}
	}
	if geteuid() != 0 {
		return cfg, &tool.UsageError{Msg: "ovpn must be run as root.", Status: 1}
	}
	var ip, mask string
	var extra []string
	opts := options(&cfg, &ip, &mask)
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "-C" { // accepted by the reference's parser, then a failure
			return cfg, &tool.UsageError{Status: 1}
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			extra = append(extra, a)
			continue
		}
		if a == "--" {
			extra = append(extra, args[i+1:]...)
			break
		}
		o := find(opts, a)
		switch {
		case o == nil:
			return cfg, fmt.Errorf("unrecognized option '%s'", a)
		case o.Flag != nil:
			*o.Flag = true
		case i+1 == len(args):
			return cfg, fmt.Errorf("option '%s' requires an argument", a)
		default:
			i++
			if err := o.Value(args[i]); err != nil {
				return cfg, err
			}
		}
	}
	if len(extra) > 0 {
		return cfg, badArg("Unknown arguments specified: %s ", strings.Join(extra, " "))
	}
	return finish(cfg, ip, mask)
}

func options(cfg *Config, ip, mask *string) []tool.Option {
	return []tool.Option{
		{Short: "-i", Long: "--ip", Value: func(v string) error {
			a, err := netip.ParseAddr(v)
			if err != nil || !a.Is4() {
				return badArg("Invalid IP address: %s.", v)
			}
			*ip = v
			return nil
		}},
		{Short: "-m", Long: "--mask", Value: func(v string) error {
			if _, ok := maskBits(v); !ok {
				return badArg("Invalid subnet mask: %s.", v)
			}
			*mask = v
			return nil
		}},
		{Short: "-n", Long: "--name", Value: tool.StringVar(&cfg.Name)},
		{Long: "--ip6", Value: func(v string) error {
			p, err := netip.ParsePrefix(v)
			if err != nil || !p.Addr().Is6() || p.Addr().Is4In6() {
				return badArg("Invalid IPv6 address: %s (give ADDR/PREFIX).", v)
			}
			cfg.IP6 = p
			return nil
		}},
		{Long: "--route", Value: func(v string) error {
			p, err := netip.ParsePrefix(v)
			if err != nil {
				return badArg("Invalid route: %s (give PREFIX/LENGTH).", v)
			}
			cfg.Routes = append(cfg.Routes, p.Masked())
			return nil
		}},
		{Long: "--tap", Flag: &cfg.TAP},
		{Long: "--bridge", Value: tool.StringVar(&cfg.Bridge)},
		{Long: "--dev", Value: tool.StringVar(&cfg.Dev)},
		{Short: "-q", Long: "--qos", Value: func(v string) error {
			qs, ok := qos.ByName(v)
			if !ok {
				return badArg("Unknown QoS: %s.", v)
			}
			t := cfg.QoS.Timeout
			cfg.QoS = qs
			cfg.QoS.Timeout = t
			return nil
		}},
		{Long: "--peer-timeout", Value: func(v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d < 100*time.Millisecond || d > time.Hour {
				return badArg("Invalid peer timeout: %s (give a duration from 100ms to 1h, e.g. 10s).", v)
			}
			cfg.QoS.Timeout = uint32(d / time.Millisecond)
			return nil
		}},
	}
}

// DefaultPeerTimeout is ovpn's peer timeout, ms: shorter than the QoS
// specs' 120 s, so that a tunnel notices a far end that went away (its
// ovpn restarted, its node gone) within seconds.
const DefaultPeerTimeout = 10000

func find(opts []tool.Option, a string) *tool.Option {
	for i := range opts {
		if o := &opts[i]; a == o.Short || a == o.Long {
			return o
		}
	}
	return nil
}

func finish(cfg Config, ip, mask string) (Config, error) {
	if cfg.Bridge != "" && !cfg.TAP {
		return cfg, badArg("--bridge needs --tap.")
	}
	if len(cfg.Dev) >= 16 {
		return cfg, badArg("Invalid device name: %s.", cfg.Dev)
	}
	if ip == "" || netip.MustParseAddr(ip).IsUnspecified() {
		if !cfg.IP6.IsValid() && cfg.Bridge == "" {
			return cfg, badArg("Please specify an IP address.")
		}
		return cfg, nil
	}
	if mask == "" {
		return cfg, badArg("Please specify a subnetmask.")
	}
	n, _ := maskBits(mask)
	cfg.IP4 = netip.PrefixFrom(netip.MustParseAddr(ip), n)
	return cfg, nil
}

// maskBits reads a dotted IPv4 netmask of contiguous ones.
func maskBits(s string) (int, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		return 0, false
	}
	b := a.As4()
	m := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	ones := bits.LeadingZeros32(^m)
	if m<<ones != 0 {
		return 0, false
	}
	return ones, true
}
