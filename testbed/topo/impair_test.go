package topo_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/o7s/ouroboros/testbed/topo"
)

func TestParsePercent(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want topo.Percent
		err  string
	}{
		{"0%", 0, ""},
		{"0", 0, ""},
		{"1%", 10_000, ""},
		{"20%", 200_000, ""},
		{"0.1%", 1_000, ""},
		{"0.0001%", 1, ""},
		{"12.345%", 123_450, ""},
		{"100%", topo.PercentMax, ""},
		{"100.0%", topo.PercentMax, ""},
		{" 5%", 50_000, ""},
		{"100.0001%", 0, "more than 100%"},
		{"101%", 0, "more than 100%"},
		{"99999999999%", 0, "more than 100%"},
		{"0.00001%", 0, "finer than 0.0001%"},
		{"20", 0, `"20" has no % sign; write 20%`},
		{"0.5", 0, `"0.5" has no % sign; write 0.5%`},
		{"-1%", 0, "not a percentage"},
		{"1.%", 0, "not a percentage"},
		{".5%", 0, "not a percentage"},
		{"%", 0, "not a percentage"},
		{"1e2%", 0, "not a percentage"},
		{"lots", 0, "not a percentage"},
	} {
		got, err := topo.ParsePercent(tc.in)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("ParsePercent(%q): %v", tc.in, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("ParsePercent(%q) = %v, %v; want an error with %q", tc.in, got, err, tc.err)
		case got != tc.want:
			t.Errorf("ParsePercent(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestPercentString(t *testing.T) {
	for p, want := range map[topo.Percent]string{0: "0%", 1: "0.0001%", 1_000: "0.1%", 10_000: "1%", 123_450: "12.345%", topo.PercentMax: "100%"} {
		if got := p.String(); got != want {
			t.Errorf("Percent(%d) = %q, want %q", p, got, want)
		}
		if back, err := topo.ParsePercent(want); err != nil || back != p {
			t.Errorf("ParsePercent(%q) = %d, %v; want %d", want, back, err, p)
		}
	}
}

func TestParseRate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want topo.Rate
		err  string
	}{
		{"100mbit", 100e6, ""},
		{"1gbit", 1e9, ""},
		{"1.5mbit", 1_500_000, ""},
		{"64kbit", 64_000, ""},
		{"1000bit", 1000, ""},
		{"100Mbit", 100e6, ""},
		{"1000gbit", 1e12, ""},
		{"0.000000001gbit", 0, "out of range"},
		{"999bit", 0, "out of range"},
		{"1001gbit", 0, "out of range"},
		{"99999999999999999999gbit", 0, "out of range"},
		{"0mbit", 0, ""},
		{"0", 0, ""},
		{"0.0gbit", 0, ""},
		{"10mbps", 0, "write a rate in bits per second, such as 10mbit (tc reads mbps as bytes per second"},
		{"100", 0, `"100" has no unit; write 100mbit`},
		{"fast", 0, "not a rate"},
		{"1.mbit", 0, "not a rate"},
		{"mbit", 0, "not a rate"},
		{"-1mbit", 0, "not a rate"},
		{"1 mbit", 0, "not a rate"},
	} {
		got, err := topo.ParseRate(tc.in)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("ParseRate(%q): %v", tc.in, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("ParseRate(%q) = %v, %v; want an error with %q", tc.in, got, err, tc.err)
		case got != tc.want:
			t.Errorf("ParseRate(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
	for r, want := range map[topo.Rate]string{100e6: "100mbit", 1_500_000: "1500kbit", 1e9: "1gbit", 1001: "1001bit"} {
		if got := r.String(); got != want {
			t.Errorf("Rate(%d) = %q, want %q", r, got, want)
		}
	}
}

// TestImpair: knobs for both directions, overridden per direction; the
// knobs that no runtime here carries out still parse.
func TestImpair(t *testing.T) {
	for _, tc := range []struct {
		name, impair string
		want         []topo.Impairment // nil: no impairment
	}{
		{"both directions", "{loss: 1%, duplicate: 0.1%, rate: 100mbit}", []topo.Impairment{
			{Loss: 10_000, Duplicate: 1_000, Rate: 100e6}, {Loss: 10_000, Duplicate: 1_000, Rate: 100e6}}},
		{"one direction", "{b->a: {rate: 10mbit}}", []topo.Impairment{{}, {Rate: 10e6}}},
		{"a direction overrides a knob", "{loss: 5%, a->b: {loss: 0%, rate: 1gbit}}", []topo.Impairment{
			{Rate: 1e9}, {Loss: 50_000}}},
		{"every knob", "{delay: 10ms, jitter: 2ms, reorder: 1%, corrupt: 0.01%, loss: 2%, loss_burst: 3}", []topo.Impairment{
			{Delay: 10 * time.Millisecond, Jitter: 2 * time.Millisecond, Reorder: 10_000, Corrupt: 100, Loss: 20_000, LossBurst: 3},
			{Delay: 10 * time.Millisecond, Jitter: 2 * time.Millisecond, Reorder: 10_000, Corrupt: 100, Loss: 20_000, LossBurst: 3}}},
		{"zero knobs", "{loss: 0%}", nil},
		{"empty", "{}", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tp, err := topo.Parse("t.yaml", []byte(valid+"    impair: "+tc.impair+"\n"))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, tp.Links[0].Impair); diff != "" {
				t.Errorf("Impair (-want +got):\n%s", diff)
			}
		})
	}
}

func TestImpairSeedAndRelay(t *testing.T) {
	tp, err := topo.Parse("t.yaml", []byte(valid+"    impair: {seed: 42, relay: true}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if l := tp.Links[0]; l.Seed != 42 || !l.Relay || l.Impair != nil {
		t.Errorf("seed %d, relay %v, impair %v; want 42, true, none", l.Seed, l.Relay, l.Impair)
	}
	if !(topo.Impairment{Jitter: 1}).NeedsRelay() || (topo.Impairment{Loss: 1, LossBurst: 1, Rate: 1e6}).NeedsRelay() {
		t.Error("NeedsRelay is wrong")
	}
	want := []string{
		`t.yaml:5:20: seed "-1" is not a whole number from 0 to 18446744073709551615; write e.g. seed: 7`,
		`t.yaml:5:31: relay is true or false, not "yes"; write relay: true`,
	}
	if diff := cmp.Diff(want, problems(t, valid+"    impair: {seed: -1, relay: yes}\n")); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

func TestImpairBlockStyle(t *testing.T) {
	tp, err := topo.Parse("t.yaml", []byte(valid+"    impair:\n      rate: 100mbit\n      a->b:\n        loss: 20%\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []topo.Impairment{{Loss: 200_000, Rate: 100e6}, {Rate: 100e6}}
	if diff := cmp.Diff(want, tp.Links[0].Impair); diff != "" {
		t.Errorf("Impair (-want +got):\n%s", diff)
	}
	if got := tp.Links[0].Impair[0].String(); got != "loss 20%, rate 100mbit" {
		t.Errorf("String() = %q", got)
	}
	b, err := json.Marshal(tp.Links[0].Impair)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `[{"loss":"20%","rate":"100mbit"},{"rate":"100mbit"}]`; got != want {
		t.Errorf("JSON %s, want %s", got, want)
	}
	var back []topo.Impairment
	if err := json.Unmarshal(b, &back); err != nil || !cmp.Equal(back, tp.Links[0].Impair) {
		t.Errorf("JSON round trip: %v, %v", back, err)
	}
}

// TestImpairProblems: every value and key that is wrong is reported with
// its place and what to write.
func TestImpairProblems(t *testing.T) {
	for _, tc := range []struct {
		name, impair string
		want         []string
	}{
		{"values", "{loss: 120%, duplicate: 1, rate: 10mbps, delay: 5}", []string{
			`t.yaml:5:20: loss: 120% is more than 100%; write a percentage from 0% to 100%`,
			`t.yaml:5:37: duplicate: "1" has no % sign; write 1%`,
			`t.yaml:5:46: rate: "10mbps": write a rate in bits per second, such as 10mbit (tc reads mbps as bytes per second, so otb does not take it)`,
			`t.yaml:5:61: delay: "5" has no unit; write 5ms (or us, s)`,
		}},
		{"unknown knob", "{los: 1%, speed: 1mbit}", []string{
			`t.yaml:5:14: unknown key "los" in impair; did you mean "loss"?`,
			`t.yaml:5:23: unknown key "speed" in impair; write one of loss, duplicate, rate, delay, jitter, reorder, corrupt, loss_burst, seed, relay, or a direction such as a->b: {loss: 1%}`,
		}},
		{"unknown knob in a direction", "{a->b: {rat: 1mbit}}", []string{
			`t.yaml:5:21: unknown key "rat" in impair a->b; did you mean "rate"?`,
		}},
		{"a direction off the link", "{a->c: {loss: 1%}, b->b: {loss: 2%}}", []string{
			`t.yaml:5:14: direction "a->c" is not a way across this link, which joins a and b; write a->b or b->a`,
			`t.yaml:5:32: direction "b->b" is not a way across this link, which joins a and b; write a->b or b->a`,
		}},
		{"a direction twice", "{a->b: {loss: 1%}, a->b: {loss: 2%}}", []string{
			`t.yaml:5:32: key "a->b" is defined twice (first at line 5); keep one`,
		}},
		{"no value", "{loss: , rate: {x: 1}}", []string{
			`t.yaml:5:14: loss has no value; write loss: 1%`,
			`t.yaml:5:29: rate must be a string, not a mapping; write rate: 100mbit`,
		}},
		{"not a mapping", "20%", []string{
			`t.yaml:5:13: impair must be a mapping, not a string; write impair: {loss: 1%, rate: 100mbit, a->b: {duplicate: 0.1%}}`,
		}},
		{"knobs that need another", "{jitter: 1ms, b->a: {loss_burst: 4}}", []string{
			`t.yaml:5:5: impair a->b: jitter varies the delay, and there is none; add delay: (e.g. delay: 10ms), or remove jitter`,
			`t.yaml:5:5: impair b->a: jitter varies the delay, and there is none; add delay: (e.g. delay: 10ms), or remove jitter`,
		}},
		{"burst without loss", "{loss_burst: 4}", []string{
			`t.yaml:5:5: impair a->b: loss_burst groups losses, and there is no loss; add loss: (e.g. loss: 1%), or remove loss_burst`,
			`t.yaml:5:5: impair b->a: loss_burst groups losses, and there is no loss; add loss: (e.g. loss: 1%), or remove loss_burst`,
		}},
		{"out of range", "{delay: 2m, loss_burst: 0, corrupt: 0.00001%}", []string{
			`t.yaml:5:21: delay: 2m is out of range; write a duration from 0s to 1m0s`,
			`t.yaml:5:37: loss_burst: "0" is not a burst length; write a whole number of frames from 1 to 1000, e.g. loss_burst: 3`,
			`t.yaml:5:49: corrupt: 0.00001% is finer than 0.0001%, the finest step; write at most 4 decimals`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, problems(t, valid+"    impair: "+tc.impair+"\n")); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestImpairOnALAN(t *testing.T) {
	got := problems(t, "name: t\nnodes: {a: {}, b: {}, lan: {kind: bridge}}\nlinks:\n  - {type: bridge, bridge: lan, endpoints: [a:e1, b:e1], impair: {loss: 1%}}\n")
	want := []string{`t.yaml:4:58: impair is for point-to-point links (veth and udp), and this is a LAN (bridge lan); remove impair:, or join the nodes with veth links to impair them`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

// TestImpairValuesOnABrokenLink: a link whose endpoints are wrong still
// has its impairment's values checked.
func TestImpairValuesOnABrokenLink(t *testing.T) {
	got := problems(t, "name: t\nnodes: {a: {}}\nlinks:\n  - {endpoints: [a:e1], impair: {loss: 200%}}\n")
	want := []string{
		`t.yaml:4:6: a veth link has exactly 2 endpoints, not 1; write endpoints: [a:e1, b:e1], or join more with a bridge`,
		`t.yaml:4:40: loss: 200% is more than 100%; write a percentage from 0% to 100%`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}
