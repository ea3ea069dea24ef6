package tool

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
)

// parsed is what a test command line set.
type parsed struct {
	listen, quiet bool
	name          string
	values        []string // of -v, in order
}

var errValue = errors.New("bad value")

func parseTest(args []string) (parsed, error) {
	var p parsed
	opts := []Option{
		{Short: "-l", Long: "--listen", Flag: &p.listen},
		{Long: "--quiet", Flag: &p.quiet},
		{Short: "-n", Long: "--name", Value: StringVar(&p.name)},
		{Short: "-v", Value: func(v string) error {
			if v == "bad" {
				return errValue
			}
			p.values = append(p.values, v)
			return nil
		}},
	}
	bad := func(format string, a ...any) error { return &UsageError{Msg: fmt.Sprintf(format, a...), Status: 7} }
	return p, Parse(args, opts, bad)
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want parsed
		err  string // "help" for ErrHelp, "value" for errValue, else the UsageError's Msg
	}{
		{name: "nothing", args: nil},
		{name: "short forms", args: []string{"-l", "-n", "x", "-v", "1"}, want: parsed{listen: true, name: "x", values: []string{"1"}}},
		{name: "long forms", args: []string{"--name", "x", "--listen", "--quiet"}, want: parsed{listen: true, quiet: true, name: "x"}},
		{name: "any order, repeats", args: []string{"-v", "1", "-n", "a", "-v", "2", "-n", "b"}, want: parsed{name: "b", values: []string{"1", "2"}}},
		{name: "a value that looks like an option", args: []string{"-n", "-l"}, want: parsed{name: "-l"}},
		{name: "an empty value", args: []string{"-n", "", "-l"}, want: parsed{listen: true}},
		{name: "help", args: []string{"-h"}, err: "help"},
		{name: "help after options", args: []string{"-l", "-n", "x", "--help"}, err: "help"},
		{name: "help before a mistake", args: []string{"-h", "-x"}, err: "help"},
		{name: "a mistake before help", args: []string{"-x", "-h"}, err: "Unknown option: -x."},
		{name: "a bad value before help", args: []string{"-v", "bad", "-h"}, err: "value"},
		{name: "unknown option", args: []string{"-l", "--bogus"}, err: "Unknown option: --bogus."},
		{name: "a form the option does not have", args: []string{"-q"}, err: "Unknown option: -q."},
		{name: "no option", args: []string{"x"}, err: "Unknown option: x."},
		{name: "an empty argument", args: []string{""}, err: "Unknown option: ."},
		{name: "a missing value", args: []string{"-l", "-n"}, err: "Option -n needs a value."},
		{name: "a flag given a value", args: []string{"-l", "yes"}, err: "Unknown option: yes."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseTest(tc.args)
			var ue *UsageError
			switch {
			case tc.err == "help":
				if err != ErrHelp {
					t.Fatalf("err = %v, want ErrHelp", err)
				}
			case tc.err == "value":
				if err != errValue {
					t.Fatalf("err = %v, want the Value's error", err)
				}
			case tc.err != "":
				if !errors.As(err, &ue) || ue.Msg != tc.err || ue.Status != 7 {
					t.Fatalf("err = %#v, want the bad %q", err, tc.err)
				}
			case err != nil:
				t.Fatal(err)
			default:
				if got.listen != tc.want.listen || got.quiet != tc.want.quiet || got.name != tc.want.name || !slices.Equal(got.values, tc.want.values) {
					t.Errorf("parsed %+v, want %+v", got, tc.want)
				}
			}
		})
	}
}

var errSentinel = errors.New("sentinel")

func TestUsageError(t *testing.T) {
	for _, tc := range []struct {
		e    *UsageError
		text string
		is   bool // errors.Is the sentinel
	}{
		{&UsageError{Msg: "No server specified.", Usage: true, Status: 1}, "No server specified.", false},
		{&UsageError{Msg: "Please specify a name.\n", Err: errSentinel}, "sentinel", true},
		{&UsageError{Err: fmt.Errorf("%w (x)", errSentinel)}, "sentinel (x)", true},
		{&UsageError{Usage: true}, "invalid arguments", false},
	} {
		if got := tc.e.Error(); got != tc.text {
			t.Errorf("%+v: Error() = %q, want %q", tc.e, got, tc.text)
		}
		if got := errors.Is(tc.e, errSentinel); got != tc.is {
			t.Errorf("%+v: errors.Is(sentinel) = %v, want %v", tc.e, got, tc.is)
		}
	}
}

func TestSplitNumber(t *testing.T) {
	for _, tc := range []struct{ in, num, rest string }{
		{"", "", ""},
		{"250", "250", ""},
		{"250ms", "250", "ms"},
		{"+5s", "+5", "s"},
		{"-1s", "-1", "s"},
		{"1.5s", "1", ".5s"},
		{"s", "", "s"},
		{"10M", "10", "M"},
	} {
		if num, rest := SplitNumber(tc.in); num != tc.num || rest != tc.rest {
			t.Errorf("SplitNumber(%q) = %q, %q; want %q, %q", tc.in, num, rest, tc.num, tc.rest)
		}
	}
}

func TestParseTime(t *testing.T) {
	for _, tc := range []struct {
		in    string
		max   int64
		usage bool
		ms    int64
		fail  string
	}{
		{in: "", max: math.MaxInt64, ms: 0},
		{in: "250", max: math.MaxInt64, ms: 250},
		{in: "250ms", max: math.MaxInt64, ms: 250},
		{in: "3s", max: math.MaxInt64, ms: 3000},
		{in: "2m", max: math.MaxInt64, ms: 120000},
		{in: "1h", max: math.MaxInt64, ms: 3600000},
		{in: "1d", max: math.MaxInt64, ms: 86400000},
		{in: "+5s", max: math.MaxInt64, ms: 5000},
		{in: "s", max: math.MaxInt64, ms: 0}, // strtol reads no number: 0, as the reference
		{in: "10s", max: 10000, ms: 10000},
		{in: "5us", max: math.MaxInt64, fail: "Unknown time unit: us."},
		{in: "5us", max: math.MaxInt64, usage: true, fail: "Unknown time unit: us."}, // never with the usage
		{in: "-5", max: math.MaxInt64, fail: "Invalid time: -5."},
		{in: "-5", max: math.MaxInt64, usage: true, fail: "Invalid time: -5."},
		{in: "99999999999999999999", max: math.MaxInt64, fail: "Invalid time: 99999999999999999999."},
		{in: "9223372036854775807d", max: math.MaxInt64, fail: "Invalid time: 9223372036854775807d."},
		{in: "11s", max: 10999, fail: "Invalid time: 11s."},
	} {
		ms, err := ParseTime(tc.in, tc.max, tc.usage)
		if tc.fail == "" {
			if err != nil || ms != tc.ms {
				t.Errorf("ParseTime(%q, %d) = %d, %v; want %d", tc.in, tc.max, ms, err, tc.ms)
			}
			continue
		}
		wantUsage := tc.usage && tc.fail[:7] == "Invalid"
		var ue *UsageError
		if !errors.As(err, &ue) || ue.Msg != tc.fail || ue.Status != 1 || ue.Usage != wantUsage {
			t.Errorf("ParseTime(%q, %d, %v) = %d, %#v; want %q, usage %v, status 1", tc.in, tc.max, tc.usage, ms, err, tc.fail, wantUsage)
		}
	}
}

func TestClampSize(t *testing.T) {
	for _, tc := range []struct {
		size, want int
		note       string
	}{
		{64, 64, ""},
		{1000, 1000, ""},
		{1500, 1500, ""},
		{1501, 1500, "Packet size truncated to 1500 bytes.\n"},
		{63, 64, "Packet size set to 64 bytes.\n"},
		{-3, 64, "Packet size set to 64 bytes.\n"},
	} {
		var out strings.Builder
		if got := ClampSize(tc.size, 64, 1500, &out); got != tc.want || out.String() != tc.note {
			t.Errorf("ClampSize(%d, 64, 1500) = %d, note %q; want %d, %q", tc.size, got, out.String(), tc.want, tc.note)
		}
	}
}
