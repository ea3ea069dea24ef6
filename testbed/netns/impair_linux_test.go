package netns

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/nftables"

	"github.com/o7s/ouroboros/testbed/topo"
)

// TestCheckImpairments: every knob has a backend (the kernel, or the
// link's relay), so nothing is refused; a link that asks for a knob only
// the relay makes real, or for relay: true, is planned with a relay of its
// own, seeded from the file or from its ID.
func TestCheckImpairments(t *testing.T) {
	src := "name: t\nnodes: {a: {}, b: {}, c: {}, d: {}}\nlinks:\n" +
		"  - {endpoints: [a:e1, b:e1], impair: {loss: 1%, duplicate: 1%, rate: 1gbit}}\n" +
		"  - {endpoints: [b:e2, c:e1], impair: {reorder: 1%, c->b: {delay: 5ms}, seed: 9}}\n" +
		"  - {endpoints: [c:e2, d:e1], impair: {relay: true}}\n" +
		"  - {endpoints: [d:e2, a:e2], impair: {loss: 1%, loss_burst: 1}}\n"
	tp, err := topo.Parse("t.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckImpairments(tp); err != nil {
		t.Fatal(err)
	}
	l := plan(tp, "/run/o7s/labs")
	var relays []string
	for _, ls := range l.Links {
		if ls.Relay != nil {
			relays = append(relays, ls.ID+" "+ls.Relay.NS+" "+ls.Relay.Sock)
		}
	}
	want := []string{
		"b:e2--c:e1 o7s-t-relay_2 /run/o7s/labs/t/relay_2.sock",
		"c:e2--d:e1 o7s-t-relay_3 /run/o7s/labs/t/relay_3.sock",
	}
	if diff := cmp.Diff(want, relays); diff != "" {
		t.Errorf("relays (-want +got):\n%s", diff)
	}
	if s := l.Links[1].Relay.Seed; s != 9 {
		t.Errorf("seed %d, want the file's 9", s)
	}
	if s := l.Links[2].Relay.Seed; s == 0 || s != plan(tp, "/x").Links[2].Relay.Seed {
		t.Errorf("seed %d: not derived from the link", s)
	}
}

// TestChanged: link set's knobs replace the current ones, one way or
// both, from nothing with Clear; bad values and knobs without a backend
// are refused.
func TestChanged(t *testing.T) {
	ls := LinkState{ID: "a:e1--b:e1", Ends: []LinkEnd{{Node: "a", Iface: "e1"}, {Node: "b", Iface: "e1"}}}
	cur := LinkReport{Directions: []DirectionReport{
		{Impair: topo.Impairment{Rate: 100e6}}, {Impair: topo.Impairment{Rate: 50e6, Duplicate: 1000}},
	}}
	for _, tc := range []struct {
		name string
		ch   ImpairChange
		want []topo.Impairment
		err  string
	}{
		{"both ways, others kept", ImpairChange{Knobs: map[string]string{"loss": "20%"}},
			[]topo.Impairment{{Rate: 100e6, Loss: 200_000}, {Rate: 50e6, Duplicate: 1000, Loss: 200_000}}, ""},
		{"one way", ImpairChange{From: "b", Knobs: map[string]string{"loss": "5%", "rate": "0"}},
			[]topo.Impairment{{Rate: 100e6}, {Duplicate: 1000, Loss: 50_000}}, ""},
		{"clear", ImpairChange{Clear: true}, []topo.Impairment{{}, {}}, ""},
		{"clear one way, then a knob", ImpairChange{From: "a", Clear: true, Knobs: map[string]string{"duplicate": "2%"}},
			[]topo.Impairment{{Duplicate: 20_000}, {Rate: 50e6, Duplicate: 1000}}, ""},
		{"not an end", ImpairChange{From: "c", Clear: true}, nil, "node c is not an end of link a:e1--b:e1; name a or b"},
		{"bad value", ImpairChange{Knobs: map[string]string{"loss": "20"}}, nil, `--loss: "20" has no % sign; write 20%`},
		{"no relay", ImpairChange{Knobs: map[string]string{"delay": "5ms", "corrupt": "1%"}}, nil,
			"link a:e1--b:e1 has no impairment relay, and delay, corrupt need one (this kernel has no netem; loss, duplicate and rate work in the kernel): " +
				"a deploy puts a relay on a link whose file asks for one of delay, jitter, reorder, corrupt, loss_burst, or has relay: true in its impair:; add it and deploy again"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := changed(ls, cur, tc.ch)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("changed = %v, %v; want an error with %q", got, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("changed (-want +got):\n%s", diff)
			}
		})
	}
}

// TestImpairKernel sets an impairment on a veth pair between two
// throwaway namespaces, reads it back from the kernel, changes and clears
// it, and checks that no table is left. It needs root and
// OUROBOROS_PRIVILEGED_TESTS=1.
func TestImpairKernel(t *testing.T) {
	if os.Geteuid() != 0 || os.Getenv("OUROBOROS_PRIVILEGED_TESTS") != "1" {
		t.Skip("needs root and OUROBOROS_PRIVILEGED_TESTS=1")
	}
	var b [4]byte
	rand.Read(b[:])
	lab := "t" + hex.EncodeToString(b[:])
	ls := LinkState{ID: "a:e1--b:e1", Type: topo.LinkVeth}
	for _, n := range []string{"a", "b"} {
		ns := NSName(lab, n)
		if err := createNS(ns, lab); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { deleteNS(ns) })
		ls.Ends = append(ls.Ends, LinkEnd{Node: n, NS: ns, Iface: "e1"})
	}
	if err := addVeth(lab, vethEnd{NS: ls.Ends[0].NS, Iface: "e1"}, vethEnd{NS: ls.Ends[1].NS, Iface: "e1"}); err != nil {
		t.Fatal(err)
	}
	check := func(want []topo.Impairment, tables [2]int) {
		t.Helper()
		if err := applyImpair(lab, ls, want); err != nil {
			t.Fatal(err)
		}
		r, err := readLink(lab, ls)
		if err != nil {
			t.Fatal(err)
		}
		for i, d := range r.Directions {
			if d.Impair != want[i] {
				t.Errorf("%s: kernel has %v, want %v", d.Dir, d.Impair, want[i])
			}
			if (d.Counters != nil) != !want[i].IsZero() {
				t.Errorf("%s: counters %v for %v", d.Dir, d.Counters, want[i])
			}
		}
		for i, e := range ls.Ends {
			if n := len(labTables(t, e.NS, lab)); n != tables[i] {
				t.Errorf("%s has %d tables of the lab, want %d", e.NS, n, tables[i])
			}
		}
	}
	check([]topo.Impairment{{Loss: 200_000}, {Duplicate: 10_000, Rate: 10e6}}, [2]int{1, 1})
	check([]topo.Impairment{{Loss: 1, Rate: 1500e3}, {}}, [2]int{0, 1}) // a sends nothing duplicated, receives nothing impaired
	check([]topo.Impairment{{}, {}}, [2]int{0, 0})
	check([]topo.Impairment{{Duplicate: topo.PercentMax}, {Loss: topo.PercentMax}}, [2]int{1, 1})
	for _, e := range ls.Ends {
		if err := removeTables(e.NS, lab); err != nil {
			t.Fatal(err)
		}
		if n := len(labTables(t, e.NS, lab)); n != 0 {
			t.Errorf("removeTables left %d tables in %s", n, e.NS)
		}
	}
}

// labTables lists the lab's nftables tables in a namespace.
func labTables(t *testing.T, ns, lab string) []string {
	t.Helper()
	c, done, err := nftConn(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	ts, err := c.ListTablesOfFamily(nftables.TableFamilyUnspecified)
	if err != nil {
		t.Fatal(err)
	}
	var l []string
	for _, tb := range ts {
		if tb.Name == tableName(lab) {
			l = append(l, tb.Name)
		}
	}
	return l
}

// TestChangedRelayed: a link with a relay takes every knob at run time.
func TestChangedRelayed(t *testing.T) {
	ls := LinkState{ID: "a:e1--b:e1", Ends: []LinkEnd{{Node: "a", Iface: "e1"}, {Node: "b", Iface: "e1"}}, Relay: &RelayState{}}
	cur := LinkReport{Directions: []DirectionReport{{Impair: topo.Impairment{Delay: 20e6}}, {}}}
	got, err := changed(ls, cur, ImpairChange{From: "b", Knobs: map[string]string{"corrupt": "1%", "loss": "2%", "loss_burst": "4"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []topo.Impairment{{Delay: 20e6}, {Corrupt: 10_000, Loss: 20_000, LossBurst: 4}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("changed (-want +got):\n%s", diff)
	}
}
