package oping

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/o7s/ouroboros/stack/qos"
)

func TestParseTime(t *testing.T) {
	for _, tc := range []struct {
		in   string
		ms   int64
		fail string
	}{
		{in: "", ms: 0},
		{in: "0", ms: 0},
		{in: "250", ms: 250},
		{in: "250ms", ms: 250},
		{in: "3s", ms: 3000},
		{in: "2m", ms: 120000},
		{in: "1h", ms: 3600000},
		{in: "1d", ms: 86400000},
		{in: "+5s", ms: 5000},
		{in: "5us", fail: "Unknown time unit: us."},
		{in: "1.5s", fail: "Unknown time unit: .5s."},
		{in: "abc", fail: "Unknown time unit: abc."},
		{in: "s", ms: 0}, // strtol reads no number: 0 seconds, as the reference
		{in: "-5", fail: "Invalid time: -5."},
		{in: "99999999999999999999", fail: "Invalid time: 99999999999999999999."},
		{in: "9223372036854775807d", fail: "Invalid time: 9223372036854775807d."},
	} {
		ms, err := ParseTime(tc.in)
		if tc.fail != "" {
			var ue *UsageError
			if !errors.As(err, &ue) || ue.Msg != tc.fail {
				t.Errorf("ParseTime(%q) = %d, %v; want error %q", tc.in, ms, err, tc.fail)
			}
			continue
		}
		if err != nil || ms != tc.ms {
			t.Errorf("ParseTime(%q) = %d, %v; want %d", tc.in, ms, err, tc.ms)
		}
	}
}

func TestParse(t *testing.T) {
	def := DefaultConfig()
	def.Name = "srv"
	for _, tc := range []struct {
		name  string
		args  []string
		want  func(*Config)
		notes string
		err   string // the UsageError's message; "help" for ErrHelp
		usage bool
	}{
		{name: "defaults", args: []string{"-n", "srv"}},
		{name: "long forms", args: []string{"--server-name", "srv", "--count", "5", "--interval", "10ms", "--size", "100", "--quiet", "--timeofday", "--flood", "--flood-busy"},
			want: func(c *Config) {
				c.Count, c.Interval, c.Size, c.Quiet, c.TimeOfDay, c.Flood, c.FloodBusy = 5, 10*time.Millisecond, 100, true, true, true, true
			}},
		{name: "short forms", args: []string{"-n", "srv", "-c", "5", "-i", "2s", "-s", "100", "-Q", "-D", "-f", "-F"},
			want: func(c *Config) {
				c.Count, c.Interval, c.Size, c.Quiet, c.TimeOfDay, c.Flood, c.FloodBusy = 5, 2*time.Second, 100, true, true, true, true
			}},
		{name: "interval 0", args: []string{"-n", "srv", "-i", "0"}, want: func(c *Config) { c.Interval = 0 }},
		{name: "duration over interval", args: []string{"-d", "5s", "-n", "srv", "-i", "100ms"},
			want: func(c *Config) { c.Count, c.Interval = 50, 100*time.Millisecond }},
		{name: "duration with interval 0", args: []string{"-n", "srv", "-i", "0", "-d", "5s"},
			want: func(c *Config) { c.Count, c.Interval = 50000, 0 }},
		{name: "duration before truncation", args: []string{"-n", "srv", "-i", "20s", "-d", "1m"},
			want:  func(c *Config) { c.Count, c.Interval = 3, MaxInterval },
			notes: "Ping interval truncated to 10s.\n"},
		{name: "size too big", args: []string{"-n", "srv", "-s", "9000"},
			want: func(c *Config) { c.Size = MaxSize }, notes: "Packet size truncated to 1500 bytes.\n"},
		{name: "size too small", args: []string{"-n", "srv", "-s", "-3"},
			want: func(c *Config) { c.Size = MinSize }, notes: "Packet size set to 64 bytes.\n"},
		{name: "qos", args: []string{"-n", "srv", "-q", "voice"}, want: func(c *Config) { c.QoS = qos.Voice }},
		{name: "unknown qos", args: []string{"-n", "srv", "--qos", "gold"}, notes: "Unknown QoS cube, defaulting to raw.\n"},
		{name: "server", args: []string{"-l", "--poll", "-Q", "-i", "1m"},
			want: func(c *Config) { c.Name, c.Listen, c.Poll, c.Quiet, c.Interval = "", true, true, true, time.Minute }},
		{name: "busy server", args: []string{"--listen", "--busy"}, want: func(c *Config) { c.Name, c.Listen, c.Busy = "", true, true }},
		{name: "no server", args: []string{"-c", "3"}, err: "No server specified.", usage: true},
		{name: "unknown option", args: []string{"-n", "srv", "-x"}, err: "Unknown option: -x.", usage: true},
		{name: "missing value", args: []string{"-n", "srv", "-c"}, err: "Option -c needs a value.", usage: true},
		{name: "bad count", args: []string{"-n", "srv", "-c", "ten"}, err: "Invalid count: ten.", usage: true},
		{name: "negative count", args: []string{"-n", "srv", "-c", "-1"}, err: "Invalid count: -1.", usage: true},
		{name: "bad size", args: []string{"-n", "srv", "-s", "64B"}, err: "Invalid size: 64B.", usage: true},
		{name: "bad unit", args: []string{"-n", "srv", "-i", "1y"}, err: "Unknown time unit: y."},
		{name: "help", args: []string{"-n", "srv", "--help"}, err: "help"},
		{name: "h", args: []string{"-h"}, err: "help"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var notes strings.Builder
			got, err := Parse(tc.args, &notes)
			switch {
			case tc.err == "help":
				if !errors.Is(err, ErrHelp) {
					t.Fatalf("err = %v, want ErrHelp", err)
				}
				return
			case tc.err != "":
				var ue *UsageError
				if !errors.As(err, &ue) || ue.Msg != tc.err || ue.Usage != tc.usage {
					t.Fatalf("err = %#v, want %q (usage %v)", err, tc.err, tc.usage)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			want := def
			if tc.want != nil {
				tc.want(&want)
			}
			if got != want {
				t.Errorf("config\n got %+v\nwant %+v", got, want)
			}
			if notes.String() != tc.notes {
				t.Errorf("notes = %q, want %q", notes.String(), tc.notes)
			}
		})
	}
}

func TestUsageTellsTheTruth(t *testing.T) {
	for _, opt := range []string{"-l, --listen", "--poll", "--busy", "-c, --count", "-d, --duration", "-f, --flood",
		"-F, --flood-busy", "-i, --interval", "-n, --server-name", "-q, --qos", "-s, --size", "-Q, --quiet",
		"-D, --timeofday", "-h, --help", "OUROBOROS_SOCK", "p50/p99"} {
		if !strings.Contains(Usage, opt) {
			t.Errorf("usage does not mention %s", opt)
		}
	}
}
