package topo

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const storyTopo = "name: s\nnodes:\n  a: {}\n  b: {}\n  lan: {kind: bridge}\n  h: {kind: host}\nlinks:\n  - endpoints: [a:e1, b:e1]\n  - {type: bridge, bridge: lan, endpoints: [a:e2, b:e2, h:e1]}\n"

func TestStoryParse(t *testing.T) {
	src := storyTopo + `story:
  - {node: b, run: "oping --listen", bind: oping, background: true}
  - {wait: ready, timeout: 5s}
  - {at: 2s, node: a, run: "oping -n oping -c 10", expect: {loss_max: 1%, rtt_max: 5ms, received_min: 9, bytes_min: 576, output: "seq=9 "}}
  - {at: 3s, link: "b:e1--a:e1", set: {state: down}}
  - {link: lan, set: {loss: 10%, from: a}}
  - {restart: b, kill: true}
  - {sleep: 1s}
  - {node: h, run: "ping -c 1 10.0.0.1", expect: {exit: 1}}
`
	tp, err := Parse("s.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	st := tp.Story
	if len(st) != 8 {
		t.Fatalf("%d steps", len(st))
	}
	if st[0].Action != StepRun || !st[0].Background || st[0].Bind != "oping" || strings.Join(st[0].Argv, " ") != "oping --listen" || st[0].Expect.Exit != nil {
		t.Errorf("step 1 = %+v", st[0])
	}
	if st[1].Action != StepWait || st[1].Timeout != 5*time.Second {
		t.Errorf("step 2 = %+v", st[1])
	}
	if e := st[2].Expect; !st[2].HasAt || st[2].At != 2*time.Second || *e.Exit != 0 || e.LossMax.String() != "1%" || e.RTTMax != 5*time.Millisecond || e.ReceivedMin != 9 || e.BytesMin != 576 || e.Output.String() != "seq=9 " {
		t.Errorf("step 3 = %+v", st[2])
	}
	if st[3].Link != "b:e1--a:e1" || st[3].Set["state"] != "down" || st[4].Set["from"] != "a" || st[4].Set["loss"] != "10%" {
		t.Errorf("link steps = %+v %+v", st[3], st[4])
	}
	if st[5].Action != StepRestart || st[5].Node != "b" || !st[5].Kill || st[6].For != time.Second || *st[7].Expect.Exit != 1 {
		t.Errorf("steps 6-8 = %+v %+v %+v", st[5], st[6], st[7])
	}
}

func TestStoryErrors(t *testing.T) {
	src := storyTopo + `story:
  - {node: a}
  - {node: x, run: oping}
  - {node: a, run: "oping 'x", link: "a:e1--b:e1"}
  - {at: 5s, sleep: 1s}
  - {at: 2s, link: "a:e9--b:e1", set: {state: sideways}}
  - {link: lan, set: {loss: 150%}}
  - {restart: h}
  - {stop: lan}
  - {wait: forever}
  - {node: a, run: oping, expect: {loss_max: lots, rtt_max: soon, exit: 300, output: "(", received_min: -1}}
  - {start: a, expect: {exit: 0}, background: true}
  - {link: lan}
`
	_, err := Parse("s.yaml", []byte(src))
	if err == nil {
		t.Fatal("no error")
	}
	for _, w := range []string{
		"s.yaml:11:6: story step 1 has none; give it exactly one of run (with node), link (with set), stop, start, restart, wait or sleep",
		`s.yaml:12:12: story step 2 names node "x", which the topology does not have`,
		"s.yaml:13:6: story step 3 has run, link; give it exactly one",
		`s.yaml:15:10: story step 5 is at 2s, before the step before it (5s)`,
		`s.yaml:15:20: story step 5 names link "a:e9--b:e1", which the topology does not have; did you mean a:e1--b:e1?`,
		`state "sideways": write state: down or state: up`,
		"s.yaml:16:23: set: 150% is more than 100%",
		"s.yaml:17:15: story step 7 needs a node that runs onode, and h is a host",
		"s.yaml:18:12: story step 8 names lan, a bridge, which runs nothing",
		`s.yaml:19:12: wait "forever" of story step 9: a story waits for the lab to be ready; write wait: ready`,
		`loss_max: `,
		`rtt_max "soon" is not a duration`,
		`exit "300": write an exit status`,
		`output "(" is not a regular expression`,
		`received_min "-1": write a whole number`,
		`background: goes with run: only (story step 11 is a start step`,
		`expect: goes with run: only (story step 11 is a start step)`,
		"s.yaml:22:6: story step 12 sets nothing on its link",
	} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("errors lack %q:\n%v", w, err)
		}
	}
}

func TestStoryFile(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "t.yaml"), []byte(storyTopo), 0o644)
	os.WriteFile(filepath.Join(dir, "s.yaml"), []byte("topology: t.yaml\nstory:\n  - {restart: a}\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte("topology: t.yaml\nname: x\nstory:\n  - {restart: q}\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "none.yaml"), []byte("topology: nosuch.yaml\nstory: []\n"), 0o644)
	tp, err := Load(filepath.Join(dir, "s.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if tp.Name != "s" || len(tp.Nodes) != 4 || len(tp.Story) != 1 || tp.Story[0].Node != "a" || tp.StoryFile != filepath.Join(dir, "s.yaml") {
		t.Errorf("story file: %+v", tp)
	}
	_, err = Load(filepath.Join(dir, "bad.yaml"))
	if err == nil || !strings.Contains(err.Error(), "bad.yaml:1:11: a story file has topology: and story: only") || !strings.Contains(err.Error(), "bad.yaml") {
		t.Errorf("bad story file: %v", err)
	}
	_, err = Load(filepath.Join(dir, "none.yaml"))
	if err == nil || !strings.Contains(err.Error(), "none.yaml:1:11: topology:") {
		t.Errorf("missing topology: %v", err)
	}
}

// The shipped stories load.
func TestShippedStories(t *testing.T) {
	files, _ := filepath.Glob("../../topologies/story-*.yaml")
	if len(files) < 3 {
		t.Fatalf("%d stories shipped", len(files))
	}
	for _, f := range files {
		tp, err := Load(f)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if len(tp.Story) < 3 {
			t.Errorf("%s: %d steps", f, len(tp.Story))
		}
	}
}
