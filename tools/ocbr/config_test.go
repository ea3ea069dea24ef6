package ocbr

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/o7s/ouroboros/stack/qos"
)

func TestParseRate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		bps  int64
		fail string
	}{
		{in: "1000", bps: 1000}, // a bare number is b/s
		{in: "64k", bps: 64_000},
		{in: "10M", bps: 10_000_000},
		{in: "2G", bps: 2_000_000_000},
		{in: "0", bps: 0}, // refused by the client, not here
		{in: "-5k", bps: -5000},
		{in: "", bps: 0}, // no number: 0, as strtol
		{in: "10m", fail: "Unknown rate unit: m."},
		{in: "1Mb", fail: "Unknown rate unit: Mb."},
		{in: "99999999999999999999", fail: "Invalid rate."},
		{in: "9999999999999G", fail: "Invalid rate."},
	} {
		bps, err := ParseRate(tc.in)
		if tc.fail != "" {
			var ue *UsageError
			if !errors.As(err, &ue) || ue.Msg != tc.fail || ue.Status != 1 || ue.Usage {
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
	srv := DefaultConfig()
	srv.Listen = true
	for _, tc := range []struct {
		name   string
		args   []string
		base   *Config // def unless set
		want   func(*Config)
		notes  string
		err    string // the UsageError's message; "help" for ErrHelp
		usage  bool
		status int
	}{
		{name: "defaults", args: []string{"-n", "srv"}},
		{name: "long forms", args: []string{"--server_apn", "srv", "--duration", "5", "--size", "1400", "--rate", "10M", "--flood", "--spin", "--qos", "data"},
			want: func(c *Config) {
				c.Duration, c.Size, c.Rate, c.Flood, c.Spin, c.QoS = 5*time.Second, 1400, 10_000_000, true, true, qos.Data
			}},
		{name: "short forms", args: []string{"-n", "srv", "-d", "1", "-s", "64", "-r", "64k", "-f", "-q", "voice"},
			want: func(c *Config) { c.Duration, c.Size, c.Rate, c.Flood, c.QoS = time.Second, 64, 64000, true, qos.Voice }},
		{name: "sleep is the default", args: []string{"-n", "srv", "--sleep"}},
		{name: "spin wins", args: []string{"-n", "srv", "--spin", "--sleep"}, want: func(c *Config) { c.Spin = true }},
		{name: "largest size", args: []string{"-n", "srv", "-s", "524288"}, want: func(c *Config) { c.Size = MaxSize }},
		{name: "zero size and duration", args: []string{"-n", "srv", "-s", "0", "-d", "0"}, want: func(c *Config) { c.Size, c.Duration = 0, 0 }},
		{name: "unknown qos", args: []string{"-n", "srv", "-q", "gold"}, notes: "Unknown QoS cube, defaulting to raw.\n"},
		{name: "server", args: []string{"-l", "-i", "5", "-t", "3"}, base: &srv,
			want: func(c *Config) { c.Interval, c.Timeout = 5*time.Second, 3*time.Second }},
		{name: "server long", args: []string{"--listen", "--interval", "2", "--timeout", "10"}, base: &srv,
			want: func(c *Config) { c.Interval, c.Timeout = 2*time.Second, 10*time.Second }},
		{name: "server ignores client values", args: []string{"-l", "-s", "-1", "-r", "0"}, base: &srv,
			want: func(c *Config) { c.Size, c.Rate = -1, 0 }},
		{name: "no server", args: []string{"-d", "1"}, err: "No server specified.", usage: true, status: 1},
		{name: "size too big", args: []string{"-n", "srv", "-s", "524289"}, err: "Maximum size: 524288.", status: 1},
		{name: "size far too big", args: []string{"-n", "srv", "-s", "99999999999999999999"}, err: "Maximum size: 524288.", status: 1},
		{name: "negative size", args: []string{"-n", "srv", "-s", "-1"}, err: "Size overflow.", status: 1},
		{name: "size far too small", args: []string{"-n", "srv", "-s", "-99999999999999999999"}, err: "Size overflow.", status: 1},
		{name: "zero rate", args: []string{"-n", "srv", "-r", "0"}, err: "Invalid rate.", status: 1},
		{name: "negative rate", args: []string{"-n", "srv", "-r", "-1M"}, err: "Invalid rate.", status: 1},
		{name: "zero rate flooding", args: []string{"-n", "srv", "-f", "-r", "0"}, err: "Invalid rate.", status: 1},
		{name: "bad rate unit", args: []string{"-n", "srv", "-r", "1T"}, err: "Unknown rate unit: T.", status: 1},
		{name: "bad size", args: []string{"-n", "srv", "-s", "big"}, err: "Invalid size: big.", status: 1},
		{name: "bad duration", args: []string{"-n", "srv", "-d", "5s"}, err: "Invalid duration: 5s.", status: 1},
		{name: "negative duration", args: []string{"-n", "srv", "-d", "-1"}, err: "Invalid duration: -1.", status: 1},
		{name: "zero interval", args: []string{"-l", "-i", "0"}, err: "Invalid interval: 0.", status: 1},
		{name: "zero timeout", args: []string{"-l", "-t", "0"}, err: "Invalid timeout: 0.", status: 1},
		{name: "unknown option", args: []string{"-n", "srv", "--bandwidth"}, err: "Unknown option: --bandwidth.", usage: true},
		{name: "operf's name option", args: []string{"--server-name", "srv"}, err: "Unknown option: --server-name.", usage: true},
		{name: "missing value", args: []string{"-n"}, err: "Option -n needs a value.", usage: true},
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
			if tc.base != nil {
				want = *tc.base
			}
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
	if !strings.HasPrefix(Usage, "Usage: cbr [OPTION]...\n") {
		t.Errorf("usage title: %.40q", Usage)
	}
	for _, opt := range []string{"-l, --listen", "-i, --interval", "-t, --timeout", "-n, --server_apn", "-d, --duration",
		"-f, --flood", "-s, --size", "-r, --rate", "--sleep", "--spin", "-q, --qos", "-h, --help",
		"524288", "65535", "Ours", "raw", "data", "FRCT", "OUROBOROS_SOCK"} {
		if !strings.Contains(Usage, opt) {
			t.Errorf("usage does not mention %s", opt)
		}
	}
}

func TestConfigChecks(t *testing.T) {
	c := clientConfig(time.Second, 100, 1000)
	if err := c.checkClient(); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []func(*Config){
		func(c *Config) { c.Name = "" },
		func(c *Config) { c.Size = -1 },
		func(c *Config) { c.Size = MaxSize + 1 },
		func(c *Config) { c.Rate = 0 },
		func(c *Config) { c.Duration = -time.Second },
	} {
		c := clientConfig(time.Second, 100, 1000)
		bad(&c)
		if err := c.checkClient(); err == nil {
			t.Errorf("%+v passed the client's check", c)
		}
	}
	s := serverConfig(time.Second, time.Second)
	if err := s.checkServer(); err != nil {
		t.Fatal(err)
	}
	s.Timeout = 0
	if err := s.checkServer(); err == nil {
		t.Error("a zero timeout passed the server's check")
	}
}
