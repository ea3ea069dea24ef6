package netns

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/o7s/ouroboros/testbed/topo"
)

func ringPlan(t *testing.T) ([]Step, *Lab) {
	t.Helper()
	tp, err := topo.Load("../../topologies/ring.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return Steps(tp), plan(tp, t.TempDir())
}

// upExcept says every member of every layer is up but those of the nodes
// given.
func upExcept(down ...string) memberUp {
	return func(_, node string) bool { return !slices.Contains(down, node) }
}

// brief lists a plan's steps in a few words each.
func brief(st []Step) []string {
	var l []string
	for _, s := range st {
		switch s.Op {
		case OpEnroll, OpConnect, OpDisconnect:
			l = append(l, fmt.Sprintf("%s %s %s %s %s", s.Node, s.Op, s.IPCP, s.Dst, s.Comp))
		case OpCreate, OpBootstrap:
			l = append(l, fmt.Sprintf("%s %s %s", s.Node, s.Op, s.IPCP))
		}
	}
	return l
}

func TestRestartPlan(t *testing.T) {
	all, l := ringPlan(t)
	for _, tc := range []struct {
		name, node string
		up         memberUp
		want       []string
		done       string // the last step's progress line
		note       string
	}{
		{"an enrollee, every other member up: as deployed", "c", upExcept("c"), []string{
			"c create dix-b-c.c", "c bootstrap dix-b-c.c", "c create dix-c-d.c", "c bootstrap dix-c-d.c", "c create net.c",
			"c enroll net.c net.b ", "c connect net.c net.b mgmt", "c connect net.c net.b dt", "c connect net.c net.d mgmt", "c connect net.c net.d dt",
		}, "net.c      enrolled via net.b, connected to net.b, net.d", ""},
		{"the bootstrapper, the others up: enrolls via a neighbour, which connect again", "a", upExcept("a"), []string{
			"a create dix-a-b.a", "a bootstrap dix-a-b.a", "a create dix-d-a.a", "a bootstrap dix-d-a.a", "a create net.a",
			"a enroll net.a net.b ",
			"b disconnect net.b net.a mgmt", "b connect net.b net.a mgmt", "b disconnect net.b net.a dt", "b connect net.b net.a dt",
			"d disconnect net.d net.a mgmt", "d connect net.d net.a mgmt", "d disconnect net.d net.a dt", "d connect net.d net.a dt",
		}, "net.a      enrolled via net.b, connected to net.b, net.d", ""},
		{"the only member up: bootstraps the layer again", "b", upExcept("a", "b", "c", "d"), []string{
			"b create dix-a-b.b", "b bootstrap dix-a-b.b", "b create dix-b-c.b", "b bootstrap dix-b-c.b", "b create net.b", "b bootstrap net.b",
		}, "", ""},
		{"its enroller down: enrolls through another neighbour, connects to those up", "c", upExcept("b", "c"), []string{
			"c create dix-b-c.c", "c bootstrap dix-b-c.c", "c create dix-c-d.c", "c bootstrap dix-c-d.c", "c create net.c",
			"c enroll net.c net.d ", "c connect net.c net.d mgmt", "c connect net.c net.d dt",
		}, "net.c      enrolled via net.d, connected to net.d", "net.c      not connected to net.b, which is not up; it connects when it starts"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := restartPlan(all, l.Layers, tc.node, tc.up)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, brief(p.Steps)); diff != "" {
				t.Errorf("steps (-want +got):\n%s", diff)
			}
			var last Step
			for _, s := range p.Steps {
				if s.Layer == "net" {
					last = s
				}
			}
			if tc.done != "" && last.Done != tc.done {
				t.Errorf("last step of net says %q, want %q", last.Done, tc.done)
			}
			if got := strings.Join(p.Notes, "\n"); got != tc.note {
				t.Errorf("notes %q, want %q", got, tc.note)
			}
			for _, s := range p.Steps {
				if s.Op == OpBootstrap && s.Layer == "net" && (s.Conf == nil || s.Conf.Unicast == nil || s.IPCP != "net."+tc.node) {
					t.Errorf("bootstrap %s with %+v", s.IPCP, s.Conf)
				}
			}
		})
	}
	// The node's own names come last, as deploy registers them.
	p, _ := restartPlan(all, l.Layers, "b", upExcept("b"))
	var names []string
	for _, s := range p.Steps {
		if s.Layer == "" {
			names = append(names, string(s.Op)+" "+s.Name+" "+s.In)
		}
	}
	if diff := cmp.Diff([]string{"name operf ", "register operf net", "name oping ", "register oping net"}, names); diff != "" {
		t.Errorf("b's names (-want +got):\n%s", diff)
	}
	// Members up, none of them next to the node: bootstrapping would split
	// the layer.
	_, err := restartPlan(all, l.Layers, "c", upExcept("b", "c", "d"))
	if err == nil || !strings.Contains(err.Error(), "layer net: no member that shares a lower layer with c is up (members up: a)") {
		t.Errorf("c with only a up: %v", err)
	}
}

// TestStepsRecord: the steps a deploy records read back as they were.
func TestStepsRecord(t *testing.T) {
	for _, f := range []string{"ring", "default", "shims", "lan-broadcast"} {
		tp, err := topo.Load("../../topologies/" + f + ".yaml")
		if err != nil {
			t.Fatal(err)
		}
		st := Steps(tp)
		dir := t.TempDir()
		if err := saveSteps(dir, st); err != nil {
			t.Fatal(err)
		}
		l := &Lab{Name: tp.Name, Dir: dir}
		got, err := l.deploySteps(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(st, got, cmpopts.EquateComparable(netip.Addr{})); diff != "" {
			t.Errorf("%s: steps read back (-want +got):\n%s", f, diff)
		}
		b, _ := json.Marshal(got)
		if strings.Contains(string(b), `"Conf":{}`) {
			t.Errorf("%s: an empty configuration recorded", f)
		}
	}
}
