package operf

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	for _, tc := range []struct {
		in   string
		ms   int64
		fail string
	}{
		{in: "60000", ms: 60000}, // a bare number is ms
		{in: "10ms", ms: 10},
		{in: "10s", ms: 10000},
		{in: "2m", ms: 120000},
		{in: "1h", ms: 3600000},
		{in: "1d", ms: 86400000},
		{in: "", ms: 0},
		{in: "10x", fail: "Unknown time unit: x."},
		{in: "-1s", fail: "Invalid time: -1s."},
	} {
		ms, err := ParseTime(tc.in)
		if tc.fail != "" {
			var ue *UsageError
			if !errors.As(err, &ue) || ue.Msg != tc.fail || ue.Status != 1 {
				t.Errorf("ParseTime(%q) = %d, %#v; want error %q, status 1", tc.in, ms, err, tc.fail)
			}
			continue
		}
		if err != nil || ms != tc.ms {
			t.Errorf("ParseTime(%q) = %d, %v; want %d", tc.in, ms, err, tc.ms)
		}
	}
}

func TestParseRate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		bps  uint64
		fail string
	}{
		{in: "1000", bps: 1_000_000}, // a bare number is kb/s
		{in: "1000k", bps: 1_000_000},
		{in: "10M", bps: 10_000_000},
		{in: "2G", bps: 2_000_000_000},
		{in: "0", bps: 0},
		{in: "10m", fail: "Unknown rate unit: m."},
		{in: "1Mb", fail: "Unknown rate unit: Mb."},
		{in: "M", fail: "Invalid rate: M."},
		{in: "-5", fail: "Invalid rate: -5."},
		{in: "99999999999999999999G", fail: "Invalid rate: 99999999999999999999G."},
	} {
		bps, err := ParseRate(tc.in)
		if tc.fail != "" {
			var ue *UsageError
			if !errors.As(err, &ue) || ue.Msg != tc.fail || ue.Status != 1 {
				t.Errorf("ParseRate(%q) = %d, %#v; want error %q, status 1", tc.in, bps, err, tc.fail)
			}
			continue
		}
		if err != nil || bps != tc.bps {
			t.Errorf("ParseRate(%q) = %d, %v; want %d", tc.in, bps, err, tc.bps)
		}
	}
}

func TestParse(t *testing.T) {
	def := DefaultConfig()
	def.Name = "srv"
	for _, tc := range []struct {
		name   string
		args   []string
		want   func(*Config)
		notes  string
		err    string // the UsageError's message; "help" for ErrHelp
		usage  bool
		status int
	}{
		{name: "defaults", args: []string{"-n", "srv"}},
		{name: "long forms", args: []string{"--server-name", "srv", "--test", "bi", "--duration", "5s", "--rate", "10M", "--size", "1400", "--flood", "--sleep"},
			want: func(c *Config) {
				c.Test, c.Duration, c.Rate, c.Size, c.Flood, c.Sleep = Bi, 5*time.Second, 10_000_000, 1400, true, true
			}},
		{name: "short forms", args: []string{"-n", "srv", "-t", "uni", "-d", "1500", "-r", "64", "-s", "64", "-f"},
			want: func(c *Config) { c.Duration, c.Rate, c.Size, c.Flood = 1500*time.Millisecond, 64000, 64, true }},
		{name: "size too big", args: []string{"-n", "srv", "-s", "1048576"},
			want: func(c *Config) { c.Size = MaxSize }, notes: "Packet size truncated to 65535 bytes.\n"},
		{name: "size too small", args: []string{"-n", "srv", "-s", "1"},
			want: func(c *Config) { c.Size = MinSize }, notes: "Packet size set to 64 bytes.\n"},
		{name: "zero rate flooding", args: []string{"-n", "srv", "-r", "0", "-f"}, want: func(c *Config) { c.Rate, c.Flood = 0, true }},
		{name: "server", args: []string{"-l", "-Q", "-t", "anything"}, want: func(c *Config) { c.Name, c.Listen, c.Quiet = "", true, true }},
		{name: "server long", args: []string{"--listen", "--quiet"}, want: func(c *Config) { c.Name, c.Listen, c.Quiet = "", true, true }},
		{name: "no server", args: []string{"-t", "bi"}, err: "No server specified.", status: 1},
		{name: "bad test", args: []string{"-n", "srv", "-t", "tri"}, err: "Invalid test type.", status: 1},
		{name: "zero rate", args: []string{"-n", "srv", "-r", "0"}, err: "Invalid rate: 0 b/s.", status: 1},
		{name: "bad time unit", args: []string{"-n", "srv", "-d", "1w"}, err: "Unknown time unit: w.", status: 1},
		{name: "bad rate unit", args: []string{"-n", "srv", "-r", "1T"}, err: "Unknown rate unit: T.", status: 1},
		{name: "unknown option", args: []string{"-n", "srv", "--bandwidth"}, err: "Unknown option: --bandwidth.", usage: true},
		{name: "missing value", args: []string{"-n"}, err: "Option -n needs a value.", usage: true},
		{name: "bad size", args: []string{"-n", "srv", "-s", "big"}, err: "Invalid size: big.", usage: true},
		{name: "help", args: []string{"--help"}, err: "help"},
		{name: "h", args: []string{"-n", "srv", "-h"}, err: "help"},
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
				if !errors.As(err, &ue) || ue.Msg != tc.err || ue.Usage != tc.usage || ue.Status != tc.status {
					t.Fatalf("err = %#v, want %q (usage %v, status %d)", err, tc.err, tc.usage, tc.status)
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
	for _, opt := range []string{"-l, --listen", "-t, --test", "-n, --server-name", "-d, --duration", "-r, --rate",
		"-s, --size", "-f, --flood", "--sleep", "-Q, --quiet", "-h, --help", "65535", "OUROBOROS_SOCK", "additions"} {
		if !strings.Contains(Usage, opt) {
			t.Errorf("usage does not mention %s", opt)
		}
	}
}
