// Package story runs a topology's story (testbed/topo StoryStep) against a
// deployed lab: each step through the otb command line, as a user would
// type it (otb exec, otb link set, otb node, otb wait), so that a story
// runs the same on namespace and docker nodes, and its results (a table,
// JUnit XML) say which expectations held.
package story

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/o7s/ouroboros/testbed/topo"
)

// Runner runs one story against one lab.
type Runner struct {
	Otb    string // the otb binary
	BinDir string // where a namespace node's tools are found by bare name
	Lab    string
	T      *topo.Topology
	Out    io.Writer // progress: a line per step as it ends
}

// Result is one step's outcome.
type Result struct {
	Index  int // from 1
	Step   topo.StoryStep
	Start  time.Duration // from the story's start
	Took   time.Duration
	Pass   bool
	Detail string // what held, or what did not
	Output string // a run's output, or a command's
	Exit   int
}

// Passed tells whether every result passed.
func Passed(rs []Result) bool {
	for _, r := range rs {
		if !r.Pass {
			return false
		}
	}
	return true
}

// bg is a background run.
type bg struct {
	i    int
	cmd  *exec.Cmd
	out  *syncBuf
	done chan struct{}
	err  error
	t0   time.Time
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Run runs the steps in order and returns a result per step. A step that
// fails does not stop the story (the later steps show what followed),
// but ctx ending does: the steps not run are failed as not run.
func (r *Runner) Run(ctx context.Context) []Result {
	start := time.Now()
	res := make([]Result, len(r.T.Story))
	var bgs []*bg
	for i, st := range r.T.Story {
		res[i] = Result{Index: i + 1, Step: st}
		if st.HasAt {
			if wait := time.Until(start.Add(st.At)); wait > 0 {
				select {
				case <-ctx.Done():
				case <-time.After(wait):
				}
			}
		}
		if ctx.Err() != nil {
			res[i].Detail = "not run: the story was stopped"
			continue
		}
		t0 := time.Now()
		res[i].Start = t0.Sub(start)
		if st.Action == topo.StepRun && st.Background {
			b, err := r.startBackground(ctx, i, st)
			if err != nil {
				res[i].Detail = err.Error()
			} else {
				bgs = append(bgs, b)
				res[i].Pass, res[i].Detail = true, "started"
			}
			r.progress(res[i])
			continue
		}
		r.step(ctx, st, &res[i])
		res[i].Took = time.Since(t0)
		r.progress(res[i])
	}
	// Background runs that expect something are waited for first, while
	// the servers (background runs that expect nothing) still run.
	for _, servers := range []bool{false, true} {
		for _, b := range bgs {
			if (res[b.i].Step.Expect == topo.Expect{}) == servers {
				r.finishBackground(ctx, b, &res[b.i])
				r.progress(res[b.i])
			}
		}
	}
	return res
}

func (r *Runner) progress(res Result) {
	if r.Out == nil {
		return
	}
	mark := "ok"
	if !res.Pass {
		mark = "FAIL"
	}
	fmt.Fprintf(r.Out, "%-4s step %d (%s) %s: %s\n", mark, res.Index, fmtDur(res.Start), Describe(res.Step), res.Detail)
}

func fmtDur(d time.Duration) string { return d.Round(100 * time.Millisecond).String() }

// Describe says what a step does, in a few words.
func Describe(st topo.StoryStep) string {
	if st.Name != "" {
		return st.Name
	}
	switch st.Action {
	case topo.StepRun:
		s := st.Node + ": " + st.Run
		if st.Background {
			s += " &"
		}
		return s
	case topo.StepLink:
		var kv []string
		for _, k := range sortedKeys(st.Set) {
			kv = append(kv, k+" "+st.Set[k])
		}
		return "link " + st.Link + " " + strings.Join(kv, ", ")
	case topo.StepStop, topo.StepStart, topo.StepRestart:
		s := st.Action + " " + st.Node
		if st.Kill {
			s += " (kill)"
		}
		return s
	case topo.StepWait:
		return "wait until ready"
	case topo.StepSleep:
		return "sleep " + st.For.String()
	}
	return st.Action
}

func sortedKeys(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }

// argv is a run step's command as otb exec gets it: a bare tool name that
// is in BinDir becomes its path there on a namespace node (a docker node
// has the tools on its image's PATH).
func (r *Runner) argv(st topo.StoryStep) []string {
	a := append([]string(nil), st.Argv...)
	if len(a) > 0 && !strings.Contains(a[0], "/") && r.nodeRuntime(st.Node) != topo.RuntimeDocker {
		if p := filepath.Join(r.BinDir, a[0]); isFile(p) {
			a[0] = p
		}
	}
	return a
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

func (r *Runner) nodeRuntime(node string) string {
	for _, n := range r.T.Nodes {
		if n.Name == node {
			return n.Runtime
		}
	}
	return ""
}

// otb runs an otb command and returns its output and exit status.
func (r *Runner) otb(ctx context.Context, timeout time.Duration, args ...string) (string, int, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, r.Otb, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) } // otb exec passes it on
	cmd.WaitDelay = 5 * time.Second
	var out syncBuf
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
		err = nil
		if ctx.Err() == context.DeadlineExceeded {
			err = fmt.Errorf("did not end within %v", timeout)
		}
	case err != nil:
		code = -1
	}
	return out.String(), code, err
}

func (r *Runner) exec(node string, argv []string) []string {
	return append([]string{"exec", "--lab", r.Lab, node, "--"}, argv...)
}

// bind binds a run step's program to its Bind name on its node.
func (r *Runner) bind(ctx context.Context, st topo.StoryStep, argv []string) error {
	irm := "irm"
	if r.nodeRuntime(st.Node) != topo.RuntimeDocker {
		irm = filepath.Join(r.BinDir, "irm")
	}
	out, code, err := r.otb(ctx, 30*time.Second, r.exec(st.Node, []string{irm, "bind", "program", argv[0], "name", st.Bind})...)
	if err == nil && code != 0 {
		err = fmt.Errorf("exit status %d", code)
	}
	if err != nil {
		return fmt.Errorf("irm bind program %s name %s: %v: %s", argv[0], st.Bind, err, strings.TrimSpace(out))
	}
	return nil
}

// step runs a foreground step.
func (r *Runner) step(ctx context.Context, st topo.StoryStep, res *Result) {
	var args []string
	timeout := time.Minute
	switch st.Action {
	case topo.StepRun:
		argv := r.argv(st)
		if st.Bind != "" {
			if err := r.bind(ctx, st, argv); err != nil {
				res.Detail = err.Error()
				return
			}
		}
		out, code, err := r.otb(ctx, st.Timeout, r.exec(st.Node, argv)...)
		res.Output, res.Exit = out, code
		if err != nil {
			res.Detail = err.Error()
			return
		}
		res.Pass, res.Detail = Check(st.Expect, out, code)
		return
	case topo.StepSleep:
		select {
		case <-ctx.Done():
			res.Detail = "stopped"
		case <-time.After(st.For):
			res.Pass, res.Detail = true, "slept"
		}
		return
	case topo.StepLink:
		args = []string{"link", "set", st.Link, "--lab", r.Lab}
		for _, k := range sortedKeys(st.Set) {
			args = append(args, "--"+strings.ReplaceAll(k, "_", "-"), st.Set[k])
		}
	case topo.StepStop, topo.StepStart, topo.StepRestart:
		args = []string{"node", st.Action, st.Node, "--lab", r.Lab}
		if st.Kill {
			args = append(args, "--kill")
		}
		timeout = 3 * time.Minute
	case topo.StepWait:
		args = []string{"wait", r.Lab, "--timeout", st.Timeout.String()}
		timeout = st.Timeout + 10*time.Second
	}
	out, code, err := r.otb(ctx, timeout, args...)
	res.Output, res.Exit = out, code
	switch {
	case err != nil:
		res.Detail = err.Error()
	case code != 0:
		res.Detail = fmt.Sprintf("otb %s: exit status %d: %s", strings.Join(args[:2], " "), code, lastLine(out))
	case st.Action == topo.StepLink:
		res.Pass, res.Detail = true, strings.Join(strings.Fields(strings.ReplaceAll(strings.TrimSpace(out), "\n", " ; ")), " ")
	default:
		res.Pass, res.Detail = true, lastLine(out)
	}
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	if len(s) > 120 {
		s = s[:117] + "..."
	}
	return s
}

func (r *Runner) startBackground(ctx context.Context, i int, st topo.StoryStep) (*bg, error) {
	argv := r.argv(st)
	if st.Bind != "" {
		if err := r.bind(ctx, st, argv); err != nil {
			return nil, err
		}
	}
	b := &bg{i: i, out: &syncBuf{}, done: make(chan struct{}), t0: time.Now()}
	b.cmd = exec.Command(r.Otb, r.exec(st.Node, argv)...)
	b.cmd.Stdout, b.cmd.Stderr = b.out, b.out
	if err := b.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		b.err = b.cmd.Wait()
		close(b.done)
	}()
	return b, nil
}

// finishBackground ends a background run: one with expectations is waited
// for until its timeout (from its start); one without (a server) is
// stopped with SIGTERM (otb exec passes it on) and passes if it had not
// failed by itself.
func (r *Runner) finishBackground(ctx context.Context, b *bg, res *Result) {
	st := res.Step
	expects := st.Expect != (topo.Expect{})
	stopped := false
	if expects {
		select {
		case <-b.done:
		case <-ctx.Done():
		case <-time.After(time.Until(b.t0.Add(st.Timeout))):
		}
	}
	select {
	case <-b.done:
	default:
		stopped = true
		b.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-b.done:
		case <-time.After(5 * time.Second):
			b.cmd.Process.Kill()
			<-b.done
		}
	}
	res.Took = time.Since(b.t0)
	res.Output = b.out.String()
	res.Exit = b.cmd.ProcessState.ExitCode()
	switch {
	case expects && stopped:
		res.Pass, res.Detail = false, fmt.Sprintf("did not end within %v (stopped)", st.Timeout)
	case expects:
		res.Pass, res.Detail = Check(st.Expect, res.Output, res.Exit)
	case stopped:
		res.Pass, res.Detail = true, "ran until the story's end"
	default:
		res.Pass, res.Detail = res.Exit == 0, fmt.Sprintf("ended by itself before the story did, exit status %d: %s", res.Exit, lastLine(res.Output))
	}
}

// The figures a run's output may hold: oping's and operf's summaries.
var (
	lossRe  = regexp.MustCompile(`([0-9.]+)% packet loss`)
	recvRe  = regexp.MustCompile(`(\d+) received`)
	rttRe   = regexp.MustCompile(`rtt min/avg/max/mdev = ([0-9.]+)/([0-9.]+)/([0-9.]+)/([0-9.]+) (ms|µs|us)`)
	sizeRe  = regexp.MustCompile(`with (\d+) bytes of data|with (\d+) byte packets|Sending (\d+) byte packets`)
	sizeRes = []int{1, 2, 3}
)

// Check tells whether a run's output and exit status meet the
// expectations, and says what it found.
func Check(e topo.Expect, out string, code int) (bool, string) {
	var ok []string
	var bad []string
	if e.Exit != nil {
		if code == *e.Exit {
			ok = append(ok, fmt.Sprintf("exit %d", code))
		} else {
			bad = append(bad, fmt.Sprintf("exit status %d, not %d: %s", code, *e.Exit, lastLine(out)))
		}
	}
	if e.Output != nil {
		if e.Output.MatchString(out) {
			ok = append(ok, fmt.Sprintf("output matches %q", e.Output))
		} else {
			bad = append(bad, fmt.Sprintf("output does not match %q", e.Output))
		}
	}
	if e.NotOutput != nil {
		if m := e.NotOutput.FindString(out); m != "" {
			bad = append(bad, fmt.Sprintf("output has %q", m))
		} else {
			ok = append(ok, fmt.Sprintf("output lacks %q", e.NotOutput))
		}
	}
	if e.LossMax != nil {
		m := lossRe.FindAllStringSubmatch(out, -1)
		if m == nil {
			bad = append(bad, "no packet loss figure in the output")
		} else {
			loss, _ := topo.ParsePercent(m[len(m)-1][1] + "%")
			if loss <= *e.LossMax {
				ok = append(ok, fmt.Sprintf("loss %s ≤ %s", loss, *e.LossMax))
			} else {
				bad = append(bad, fmt.Sprintf("loss %s > %s", loss, *e.LossMax))
			}
		}
	}
	if e.RTTMax > 0 {
		m := rttRe.FindStringSubmatch(out)
		if m == nil {
			bad = append(bad, "no round-trip figure in the output")
		} else {
			v, _ := strconv.ParseFloat(m[2], 64)
			avg := time.Duration(v * float64(time.Millisecond))
			if m[5] != "ms" {
				avg = time.Duration(v * float64(time.Microsecond))
			}
			if avg <= e.RTTMax {
				ok = append(ok, fmt.Sprintf("rtt avg %v ≤ %v", avg.Round(time.Microsecond), e.RTTMax))
			} else {
				bad = append(bad, fmt.Sprintf("rtt avg %v > %v", avg.Round(time.Microsecond), e.RTTMax))
			}
		}
	}
	if e.ReceivedMin > 0 || e.BytesMin > 0 {
		m := recvRe.FindAllStringSubmatch(out, -1)
		if m == nil {
			bad = append(bad, "no received count in the output")
		} else {
			n, _ := strconv.ParseInt(m[len(m)-1][1], 10, 64)
			if e.ReceivedMin > 0 {
				if n >= e.ReceivedMin {
					ok = append(ok, fmt.Sprintf("%d received ≥ %d", n, e.ReceivedMin))
				} else {
					bad = append(bad, fmt.Sprintf("%d received < %d", n, e.ReceivedMin))
				}
			}
			if e.BytesMin > 0 {
				size := packetSize(out)
				switch {
				case size == 0:
					bad = append(bad, "no packet size in the output")
				case n*size >= e.BytesMin:
					ok = append(ok, fmt.Sprintf("%d bytes delivered ≥ %d", n*size, e.BytesMin))
				default:
					bad = append(bad, fmt.Sprintf("%d bytes delivered < %d", n*size, e.BytesMin))
				}
			}
		}
	}
	if len(bad) > 0 {
		return false, strings.Join(bad, "; ")
	}
	if len(ok) == 0 {
		return true, "done"
	}
	return true, strings.Join(ok, ", ")
}

func packetSize(out string) int64 {
	m := sizeRe.FindStringSubmatch(out)
	for _, i := range sizeRes {
		if m != nil && m[i] != "" {
			n, _ := strconv.ParseInt(m[i], 10, 64)
			return n
		}
	}
	return 0
}
