package netns

import (
	"slices"
	"strings"
	"testing"

	"github.com/o7s/ouroboros/testbed/topo"
)

const reconBase = `name: r
nodes:
  a: {}
  b: {}
  c: {names: {oping: [net]}}
links:
  - endpoints: [a:e1, b:e1]
  - endpoints: [b:e2, c:e1]
layers:
  net:
    type: unicast
    members: [a, b, c]
    lower: {a: [dix-a-b], b: [dix-a-b, dix-b-c], c: [dix-b-c]}
`

func reconPlan(t *testing.T, before, after string) (*Diff, error) {
	t.Helper()
	t1, err := topo.Parse("r.yaml", []byte(before))
	if err != nil {
		t.Fatal(err)
	}
	t2, err := topo.Parse("r.yaml", []byte(after))
	if err != nil {
		t.Fatal(err)
	}
	old := plan(t1, t.TempDir())
	d, _, err := PlanReconcile(old, Steps(t1), t2, t.TempDir())
	return d, err
}

func TestReconcileSame(t *testing.T) {
	d, err := reconPlan(t, reconBase, reconBase)
	if err != nil || !d.Empty() {
		t.Fatalf("same file: %+v, %v", d, err)
	}
}

// A node joins over a new link and the layer grows: only new steps run,
// nothing is destroyed.
func TestReconcileGrow(t *testing.T) {
	after := strings.NewReplacer(
		"  c: {names: {oping: [net]}}\n", "  c: {names: {oping: [net]}}\n  d: {names: {oping-d: [net]}}\n",
		"  - endpoints: [b:e2, c:e1]\n", "  - endpoints: [b:e2, c:e1]\n  - {endpoints: [c:e2, d:e1], impair: {loss: 1%}}\n",
		"members: [a, b, c]", "members: [a, b, c, d]",
		"c: [dix-b-c]}", "c: [dix-b-c, dix-c-d], d: [dix-c-d]}",
		"  - endpoints: [a:e1, b:e1]\n", "  - {endpoints: [a:e1, b:e1], impair: {rate: 10mbit}}\n",
	).Replace(reconBase)
	d, err := reconPlan(t, reconBase, after)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.NodesAdded, []string{"d"}) || !slices.Equal(d.LinksAdded, []string{"c:e2--d:e1"}) ||
		!slices.Equal(d.LayersAdded, []string{"dix-c-d"}) || !slices.Equal(d.LayersGrown, []string{"net"}) ||
		!slices.Equal(d.ImpairChanged, []string{"a:e1--b:e1"}) || len(d.LayersRebuilt) != 0 || len(d.Destroy) != 0 {
		t.Errorf("diff = %+v", d)
	}
	if !slices.Equal(d.NamesAdded, []string{"d:oping-d in net"}) {
		t.Errorf("names added = %v", d.NamesAdded)
	}
	for _, s := range d.Run {
		if s.Node == "a" && s.Op == OpCreate {
			t.Errorf("step %v runs again on a, which did not change", s)
		}
	}
	if !slices.ContainsFunc(d.Run, func(s Step) bool { return s.Op == OpEnroll && s.Node == "d" }) {
		t.Error("d does not enroll")
	}
}

// A member leaves: the layer is rebuilt (its IPCPs destroyed on the nodes
// that stay, upper layers first), the node and its link go.
func TestReconcileShrink(t *testing.T) {
	after := strings.NewReplacer(
		"  c: {names: {oping: [net]}}\n", "",
		"  - endpoints: [b:e2, c:e1]\n", "",
		"members: [a, b, c]", "members: [a, b]",
		", c: [dix-b-c]}", "}",
		"b: [dix-a-b, dix-b-c]", "b: [dix-a-b]",
	).Replace(reconBase)
	d, err := reconPlan(t, reconBase, after)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.NodesRemoved, []string{"c"}) || !slices.Equal(d.LinksRemoved, []string{"b:e2--c:e1"}) ||
		!slices.Equal(d.LayersRemoved, []string{"dix-b-c"}) || !slices.Equal(d.LayersRebuilt, []string{"net"}) {
		t.Errorf("diff = %+v", d)
	}
	var destroyed []string
	for _, s := range d.Destroy {
		destroyed = append(destroyed, s.Node+"/"+s.IPCP)
	}
	if !slices.Equal(destroyed, []string{"a/net.a", "b/net.b", "b/dix-b-c.b"}) {
		t.Errorf("destroyed %v; want net's IPCPs on a and b, then b's dix-b-c (c goes whole)", destroyed)
	}
}

// What cannot change in place is refused, all of it at once.
func TestReconcileRefused(t *testing.T) {
	after := strings.NewReplacer(
		"  b: {}\n", "  b: {runtime: docker}\n",
		"  - endpoints: [a:e1, b:e1]\n", "  - {endpoints: [a:e1, b:e1], impair: {delay: 5ms}}\n",
	).Replace(reconBase)
	_, err := reconPlan(t, reconBase, after)
	if err == nil || !strings.Contains(err.Error(), "node b changed its kind, runtime, image or limits") ||
		!strings.Contains(err.Error(), "link a:e1--b:e1 would need an impairment relay now") {
		t.Fatalf("err = %v", err)
	}
}
