package topo

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"
)

// A story is a list of steps run against a deployed lab (otb story run):
// commands on nodes, links set, nodes stopped and started, waits, each
// with expectations. It is the story: section of a topology file, or a
// story file: topology: (the path of a topology file, from the story
// file's directory) and story:.

// Step actions.
const (
	StepRun     = "run"
	StepLink    = "link"
	StepStop    = "stop"
	StepStart   = "start"
	StepRestart = "restart"
	StepWait    = "wait"
	StepSleep   = "sleep"
)

// StoryStep is one step of a story.
type StoryStep struct {
	Name   string
	Action string // one of the Step* actions
	// At: the step starts at this time from the story's start (after the
	// step before it has started, or ended if it runs in the
	// foreground); without it, when the step before it ends.
	At    time.Duration
	HasAt bool
	Node  string // run, stop, start, restart
	// Run: the command line (split as a shell splits words, with single
	// and double quotes), run in the background or not, bound first to
	// Bind (irm bind program) when given.
	Run        string
	Argv       []string
	Background bool
	Bind       string
	Timeout    time.Duration // a run's (foreground: its end; background: by the story's end); a wait's
	// Link: the link (as otb link set names it) and what to set: state
	// (down|up) and impairment knobs.
	Link string
	Set  map[string]string
	Kill bool          // stop, restart: SIGKILL
	For  time.Duration // sleep
	// Expect is checked on a run step's result.
	Expect Expect
	Line   int
}

// Expect is what a run step's result must show. Zero fields expect
// nothing.
type Expect struct {
	Exit        *int           // exit status (default for a foreground run: 0)
	Output      *regexp.Regexp // matches its output (stdout and stderr)
	NotOutput   *regexp.Regexp // does not match it
	LossMax     *Percent       // "N% packet loss" (oping, operf -b) at most
	RTTMax      time.Duration  // oping's average round trip at most
	ReceivedMin int64          // "N received" (oping, operf -b) at least
	BytesMin    int64          // received × the packet size the tool reports, at least
}

// DefaultRunTimeout bounds a run step without timeout:.
const DefaultRunTimeout = 60 * time.Second

var (
	storyKeys  = []string{"name", "at", "node", "run", "background", "bind", "timeout", "link", "set", "stop", "start", "restart", "kill", "wait", "sleep", "expect"}
	expectKeys = []string{"exit", "output", "not_output", "loss_max", "rtt_max", "received_min", "bytes_min"}
)

type rawStep struct {
	at         pos
	pairs      map[string]scalar // the scalar keys
	setAt      pos
	set        []pair
	expectAt   pos
	expect     map[string]scalar
	actionKeys []scalar // the action keys written, for "exactly one"
}

// story decodes a story: list.
func (d *decoder) story(n ast.Node) []rawStep {
	n = d.resolve(n)
	if isNull(n) {
		return nil
	}
	seq, ok := n.(*ast.SequenceNode)
	if !ok {
		d.errorf(posOf(n), "story must be a list of steps, not %s; write story: [{node: a, run: \"oping -n oping -c 10\"}]", describe(n))
		return nil
	}
	var steps []rawStep
	for _, v := range seq.Values {
		s := rawStep{at: posOf(d.resolve(v)), pairs: map[string]scalar{}}
		for _, p := range d.object(v, "a story step", `- {node: a, run: "oping -n oping -c 10", expect: {loss_max: 1%}}`, storyKeys, nil) {
			switch p.key.s {
			case "set":
				s.setAt = p.key.pos
				s.set = d.pairs(p.val, mapSpec{"set", "set: {state: down}", "knob", "keep one"})
			case "expect":
				s.expectAt = p.key.pos
				s.expect = map[string]scalar{}
				for _, q := range d.object(p.val, "expect", "expect: {exit: 0, loss_max: 1%}", expectKeys, nil) {
					s.expect[q.key.s] = d.str(q.val, q.key.s, "expect: {"+q.key.s+": ...}")
				}
			default:
				s.pairs[p.key.s] = d.str(p.val, p.key.s, p.key.s+": ...")
				if p.key.s == "run" || p.key.s == "link" || p.key.s == "stop" || p.key.s == "start" || p.key.s == "restart" || p.key.s == "wait" || p.key.s == "sleep" {
					s.actionKeys = append(s.actionKeys, p.key)
				}
			}
		}
		steps = append(steps, s)
	}
	return steps
}

// storyOf validates a story against the topology the builder made.
func (b *builder) storyOf(raw []rawStep) {
	var last time.Duration
	for i, rs := range raw {
		if b.stopped() {
			return
		}
		st := StoryStep{Line: rs.at.line, Timeout: DefaultRunTimeout}
		if len(rs.actionKeys) != 1 {
			var ks []string
			for _, k := range rs.actionKeys {
				ks = append(ks, k.s)
			}
			what := "none"
			if len(ks) > 0 {
				what = strings.Join(ks, ", ")
			}
			b.errorf(rs.at, "story step %d has %s; give it exactly one of run (with node), link (with set), stop, start, restart, wait or sleep", i+1, what)
			continue
		}
		st.Action = rs.actionKeys[0].s
		st.Name = rs.pairs["name"].s
		if at, ok := rs.pairs["at"]; ok && at.given() {
			d, err := time.ParseDuration(at.s)
			switch {
			case err != nil || d < 0:
				b.errorf(at.pos, "at %q of story step %d is not a time from the story's start; write at: 2s", at.s, i+1)
			case d < last:
				b.errorf(at.pos, "story step %d is at %s, before the step before it (%s); steps run in order, so keep their times rising", i+1, at.s, last)
			default:
				st.At, st.HasAt, last = d, true, d
			}
		}
		if t, ok := rs.pairs["timeout"]; ok && t.given() {
			d, err := time.ParseDuration(t.s)
			if err != nil || d <= 0 {
				b.errorf(t.pos, "timeout %q of story step %d is not a duration; write timeout: 30s", t.s, i+1)
			} else {
				st.Timeout = d
			}
		}
		st.Background = b.storyBool(rs.pairs["background"], "background")
		st.Kill = b.storyBool(rs.pairs["kill"], "kill")
		node := rs.pairs["node"]
		switch st.Action {
		case StepRun:
			st.Run = rs.pairs["run"].s
			argv, err := SplitCommand(st.Run)
			if err != nil || len(argv) == 0 {
				b.errorf(rs.pairs["run"].pos, "run %q of story step %d: %v; write run: \"oping -n oping -c 10\"", st.Run, i+1, orEmpty(err))
			}
			st.Argv = argv
			st.Bind = rs.pairs["bind"].s
			if !node.given() {
				b.errorf(rs.at, "story step %d runs a command but names no node; add node: a", i+1)
			} else {
				st.Node = b.storyNode(node, i, st.Bind != "")
			}
		case StepStop, StepStart, StepRestart:
			st.Node = b.storyNode(rs.pairs[st.Action], i, true)
		case StepLink:
			st.Link = b.storyLink(rs.pairs["link"], i)
			st.Set = b.storySet(rs, i)
		case StepWait:
			if w := rs.pairs["wait"]; w.s != "ready" {
				b.errorf(w.pos, "wait %q of story step %d: a story waits for the lab to be ready; write wait: ready", w.s, i+1)
			}
			if _, ok := rs.pairs["timeout"]; !ok {
				st.Timeout = 30 * time.Second
			}
		case StepSleep:
			d, err := time.ParseDuration(rs.pairs["sleep"].s)
			if err != nil || d < 0 {
				b.errorf(rs.pairs["sleep"].pos, "sleep %q of story step %d is not a duration; write sleep: 2s", rs.pairs["sleep"].s, i+1)
			}
			st.For = d
		}
		if st.Action != StepRun {
			for _, k := range []string{"node", "bind", "background"} {
				if v, ok := rs.pairs[k]; ok {
					b.errorf(v.pos, "%s: goes with run: only (story step %d is a %s step; a node to stop, start or restart is written stop: NODE)", k, i+1, st.Action)
				}
			}
			if rs.expectAt.given() {
				b.errorf(rs.expectAt, "expect: goes with run: only (story step %d is a %s step)", i+1, st.Action)
			}
		}
		if st.Kill && st.Action != StepStop && st.Action != StepRestart {
			b.errorf(rs.pairs["kill"].pos, "kill: goes with stop: or restart: only")
		}
		if rs.setAt.given() && st.Action != StepLink {
			b.errorf(rs.setAt, "set: goes with link: only")
		}
		st.Expect = b.storyExpect(rs, i, st.Background)
		b.t.Story = append(b.t.Story, st)
	}
}

func orEmpty(err error) error {
	if err == nil {
		return fmt.Errorf("it is empty")
	}
	return err
}

func (b *builder) storyBool(s scalar, key string) bool {
	if !s.given() {
		return false
	}
	v, err := strconv.ParseBool(s.s)
	if err != nil {
		b.errorf(s.pos, "%s must be true or false, not %q", key, s.s)
	}
	return v
}

// storyNode checks a node a step names; onode: it must run onode.
func (b *builder) storyNode(s scalar, i int, onode bool) string {
	n := b.nodes[s.s]
	switch {
	case n == nil:
		b.errorf(s.pos, "story step %d names node %q, which the topology does not have%s", i+1, s.s, b.nodeHint(s.s))
	case n.Kind == KindBridge:
		b.errorf(s.pos, "story step %d names %s, a bridge, which runs nothing; name a node or a host", i+1, s.s)
	case onode && n.Kind != KindNode:
		b.errorf(s.pos, "story step %d needs a node that runs onode, and %s is a %s", i+1, s.s, n.Kind)
	}
	return s.s
}

func (b *builder) nodeHint(name string) string {
	var names []string
	for _, n := range b.t.Nodes {
		names = append(names, n.Name)
	}
	if s := suggest(name, names); s != "" {
		return fmt.Sprintf("; did you mean %s?", s)
	}
	return "; nodes: " + strings.Join(names, ", ")
}

// storyLink checks a link a step names: a link's ID either way round, a
// LAN's bridge, or NODE:IFACE.
func (b *builder) storyLink(s scalar, i int) string {
	if b.byID[s.s] != nil {
		return s.s
	}
	for _, l := range b.t.Links {
		if l.Type == LinkBridge && l.Bridge == s.s {
			return s.s
		}
		for _, e := range l.Endpoints {
			if e.Node+":"+e.Iface == s.s {
				return s.s
			}
		}
	}
	hint := ""
	if sg := suggest(s.s, b.ids); sg != "" {
		hint = "; did you mean " + sg + "?"
	} else if len(b.ids) > 0 {
		hint = "; links: " + strings.Join(b.ids, ", ")
	}
	b.errorf(s.pos, "story step %d names link %q, which the topology does not have%s", i+1, s.s, hint)
	return s.s
}

// storySet checks what a link step sets: state and impairment knobs.
func (b *builder) storySet(rs rawStep, i int) map[string]string {
	if len(rs.set) == 0 {
		b.errorf(rs.at, "story step %d sets nothing on its link; add set: {state: down} or set: {loss: 10%%}", i+1)
		return nil
	}
	set := map[string]string{}
	var im Impairment
	for _, p := range rs.set {
		v := b.str(p.val, p.key.s, "set: {"+p.key.s+": ...}")
		switch {
		case p.key.s == "state":
			if v.s != "down" && v.s != "up" {
				b.errorf(v.pos, "state %q: write state: down or state: up", v.s)
			}
		case p.key.s == "from":
			if b.nodes[v.s] == nil {
				b.errorf(v.pos, "from: %q is not a node of the topology%s", v.s, b.nodeHint(v.s))
			}
		default:
			if err := im.SetKnob(p.key.s, v.s); err != nil {
				b.errorf(p.key.pos, "set: %v", err)
			}
		}
		set[p.key.s] = v.s
	}
	return set
}

func (b *builder) storyExpect(rs rawStep, i int, background bool) Expect {
	var e Expect
	for k, v := range rs.expect {
		switch k {
		case "exit":
			n, err := strconv.Atoi(v.s)
			if err != nil || n < 0 || n > 255 {
				b.errorf(v.pos, "exit %q: write an exit status, exit: 0", v.s)
				continue
			}
			e.Exit = &n
		case "output", "not_output":
			re, err := regexp.Compile(v.s)
			if err != nil {
				b.errorf(v.pos, "%s %q is not a regular expression: %v", k, v.s, err)
				continue
			}
			if k == "output" {
				e.Output = re
			} else {
				e.NotOutput = re
			}
		case "loss_max":
			p, err := ParsePercent(v.s)
			if err != nil {
				b.errorf(v.pos, "loss_max: %v; write loss_max: 1%%", err)
				continue
			}
			e.LossMax = &p
		case "rtt_max":
			d, err := time.ParseDuration(v.s)
			if err != nil || d <= 0 {
				b.errorf(v.pos, "rtt_max %q is not a duration; write rtt_max: 5ms", v.s)
				continue
			}
			e.RTTMax = d
		case "received_min", "bytes_min":
			n, err := strconv.ParseInt(v.s, 10, 64)
			if err != nil || n < 0 {
				b.errorf(v.pos, "%s %q: write a whole number, %s: 100", k, v.s, k)
				continue
			}
			if k == "received_min" {
				e.ReceivedMin = n
			} else {
				e.BytesMin = n
			}
		}
	}
	if e.Exit == nil && !background && rs.pairs["run"].given() {
		zero := 0
		e.Exit = &zero
	}
	return e
}

// SplitCommand splits a command line into words as a shell does for
// plain words and single- and double-quoted strings (with \ escaping in
// double quotes and outside quotes); nothing else (no variables, globs or
// redirections).
func SplitCommand(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	in := false // inside a word
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("a ' is not closed")
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			in = true
		case c == '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\') {
					i++
				}
				cur.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, fmt.Errorf("a \" is not closed")
			}
			in = true
		case c == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
			in = true
		default:
			cur.WriteByte(c)
			in = true
		}
	}
	if in {
		words = append(words, cur.String())
	}
	return words, nil
}

// storyFile loads a story file: the topology file it names (from its own
// directory), and its story, checked against that topology.
func storyFile(ctx context.Context, d *decoder, f *rawFile, o LoadOptions) (*Topology, error) {
	if f.name.given() || f.runtime.given() || f.nodesAt.given() || len(f.links) > 0 || len(f.layers) > 0 || len(f.tunnels) > 0 {
		d.errorf(f.topology.pos, "a story file has topology: and story: only; put the lab's nodes, links and layers in %s", f.topology.s)
	}
	if !f.storyAt.given() {
		d.errorf(f.topology.pos, "a story file with no story; add story: [...] (or deploy %s itself)", f.topology.s)
	}
	if d.problems() > 0 {
		return nil, d.errs.sortDedup()
	}
	path := f.topology.s
	if !filepath.IsAbs(path) {
		path = filepath.Join(filepath.Dir(d.file), path)
	}
	data, err := readFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s:%d:%d: topology: %w", d.file, f.topology.line, f.topology.col, err)
	}
	td := &decoder{ctx: ctx, file: path, runtimeOpt: o.Runtime}
	tf := td.parse(data)
	if tf != nil && tf.topology.given() {
		return nil, fmt.Errorf("%s:%d:%d: %s is a story file itself; name a topology file", d.file, f.topology.line, f.topology.col, path)
	}
	var t *Topology
	var b *builder
	if tf != nil && td.stop == nil {
		b = newBuilder(td)
		t = b.build(tf)
	}
	if td.stop != nil && td.stop != errExpands {
		return nil, fmt.Errorf("load topology %s: %w", path, td.stop)
	}
	if td.problems() > 0 {
		return nil, td.errs.sortDedup()
	}
	if len(t.Story) > 0 {
		d.errorf(f.storyAt, "%s has a story of its own; a story file's topology has none", path)
	}
	b.decoder = d // the story's problems are the story file's
	t.Story = nil
	b.storyOf(f.story)
	if d.problems() > 0 {
		return nil, d.errs.sortDedup()
	}
	t.StoryFile = d.file
	return t, nil
}
