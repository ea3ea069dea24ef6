package story

import (
	"bytes"
	"encoding/xml"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/o7s/ouroboros/testbed/topo"
)

const opingOut = `Pinging oping with 64 bytes of data (500 packets):

64 bytes from oping: seq=0 time=0.640 ms

--- oping ping statistics ---
500 packets transmitted, 447 received, 0 out-of-order, 11% packet loss, time: 3012.5 ms
rtt min/avg/max/mdev = 0.640/0.700/0.784/0.062 ms
rtt p50/p99 = 0.693/0.784 ms
`

func pct(s string) *topo.Percent {
	p, err := topo.ParsePercent(s)
	if err != nil {
		panic(err)
	}
	return &p
}

func TestCheck(t *testing.T) {
	zero := 0
	for _, tc := range []struct {
		name string
		e    topo.Expect
		out  string
		code int
		pass bool
		want string
	}{
		{"all hold", topo.Expect{Exit: &zero, LossMax: pct("20%"), RTTMax: time.Millisecond, ReceivedMin: 400, BytesMin: 447 * 64, Output: regexp.MustCompile(`seq=0 `)},
			opingOut, 0, true, "exit 0, output matches \"seq=0 \", loss 11% ≤ 20%, rtt avg 700µs ≤ 1ms, 447 received ≥ 400, 28608 bytes delivered ≥ 28608"},
		{"loss too high", topo.Expect{LossMax: pct("10%")}, opingOut, 0, false, "loss 11% > 10%"},
		{"rtt too high", topo.Expect{RTTMax: 500 * time.Microsecond}, opingOut, 0, false, "rtt avg 700µs > 500µs"},
		{"too few", topo.Expect{ReceivedMin: 448, BytesMin: 1 << 20}, opingOut, 0, false, "447 received < 448; 28608 bytes delivered < 1048576"},
		{"exit", topo.Expect{Exit: &zero}, "Failed to allocate flow.\n", 1, false, "exit status 1, not 0: Failed to allocate flow."},
		{"no figure", topo.Expect{LossMax: pct("1%"), RTTMax: time.Second}, "nothing\n", 0, false, "no packet loss figure in the output; no round-trip figure in the output"},
		{"not output", topo.Expect{NotOutput: regexp.MustCompile(`out-of-order`)}, opingOut, 0, false, `output has "out-of-order"`},
		{"µs rtt", topo.Expect{RTTMax: 100 * time.Microsecond}, "rtt min/avg/max/mdev = 85.046/94.210/100.058/8.036 µs\n", 0, true, "rtt avg 94µs ≤ 100µs"},
		{"nothing expected", topo.Expect{}, "", 3, true, "done"},
	} {
		pass, detail := Check(tc.e, tc.out, tc.code)
		if pass != tc.pass || detail != tc.want {
			t.Errorf("%s: Check = %v, %q; want %v, %q", tc.name, pass, detail, tc.pass, tc.want)
		}
	}
}

func TestReport(t *testing.T) {
	steps := []topo.StoryStep{
		{Action: topo.StepRun, Node: "a", Run: "oping -n oping", Line: 7},
		{Action: topo.StepLink, Link: "a:e1--b:e1", Set: map[string]string{"state": "down"}, Name: "fail", Line: 8},
	}
	rs := []Result{
		{Index: 1, Step: steps[0], Pass: true, Detail: "exit 0", Took: time.Second, Output: "out <&>"},
		{Index: 2, Step: steps[1], Pass: false, Detail: "otb link set: exit status 1: no such link", Start: 2 * time.Second},
	}
	var tb bytes.Buffer
	Table(&tb, rs)
	for _, w := range []string{"1     0s  1s    a: oping -n oping  ok      exit 0", "2     2s  0s    fail               FAIL    otb link set", "1 of 2 steps passed"} {
		if !strings.Contains(tb.String(), w) {
			t.Errorf("table lacks %q:\n%s", w, tb.String())
		}
	}
	if Passed(rs) {
		t.Error("Passed with a failed step")
	}
	var jb bytes.Buffer
	if err := JUnit(&jb, "story s.yaml", rs, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	var got junitSuites
	if err := xml.Unmarshal(jb.Bytes(), &got); err != nil {
		t.Fatalf("JUnit output does not parse: %v\n%s", err, jb.String())
	}
	s := got.Suites[0]
	if s.Tests != 2 || s.Failures != 1 || len(s.Cases) != 2 || s.Cases[1].Failure == nil || s.Cases[0].Failure != nil ||
		s.Cases[1].Failure.Text != "line 8: otb link set: exit status 1: no such link" || s.Cases[0].SystemOut != "out <&>" || s.Cases[1].Name != "step 2: fail" {
		t.Errorf("JUnit = %+v", s)
	}
}
