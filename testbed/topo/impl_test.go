package topo

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestImplNodes(t *testing.T) {
	src := "name: mix\nnodes:\n" +
		"  a: {}\n" +
		"  r: {impl: reference, image: ref/irmd:1}\n" +
		"links:\n  - {endpoints: [a:e1, r:e1]}\n  - {type: udp, endpoints: [a:u0, r:u0]}\n" +
		"layers:\n  net: {type: unicast, members: [a, r], lower: {a: [dix-a-r], r: [dix-a-r]}}\n"
	tp, err := Parse("mix.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	a, r := tp.Node("a"), tp.Node("r")
	if a.Foreign() || a.Runtime != RuntimeNetns {
		t.Errorf("a: foreign %v runtime %s", a.Foreign(), a.Runtime)
	}
	if !r.Foreign() || r.Impl != "reference" || r.Profile.Name != "reference" || r.Runtime != RuntimeDocker || r.Image != "ref/irmd:1" {
		t.Errorf("r: impl %q runtime %s image %q", r.Impl, r.Runtime, r.Image)
	}
}

func TestImplErrors(t *testing.T) {
	dir := t.TempDir()
	noUDP := `name: nudp
daemon: d
ready: r
steps:
  create: c {ipcp}
  bootstrap:
    eth-dix: b {dev}
  name: n {name}
  bind: b {ipcp} {name}
  register: r {name} {ipcp}
  enroll: e {ipcp} {dst}
  connect: c {ipcp} {dst} {comp}
`
	if err := os.WriteFile(filepath.Join(dir, "nudp.yaml"), []byte(noUDP), 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "t.yaml")
	for _, tc := range []struct{ name, nodes, want string }{
		{"no image", "a: {}\n  r: {impl: reference}", "t.yaml:4:13: node r runs impl reference and names no image; add image:"},
		{"netns", "a: {}\n  r: {impl: reference, image: x, runtime: netns}", "t.yaml:4:43: node r runs impl reference, which runs in a container of its own (its own /run and /dev/shm); remove runtime: netns"},
		{"unknown profile", "a: {}\n  r: {impl: nosuch, image: x}", `t.yaml:4:13: node r: no profile "nosuch" is shipped (shipped: reference)`},
		{"missing file", "a: {}\n  r: {impl: ./gone.yaml, image: x}", "t.yaml:4:13: node r: profile: open " + filepath.Join(dir, "gone.yaml")},
		{"bridge", "a: {}\n  r: {image: x}\n  l: {kind: bridge, impl: reference}", "node l is a bridge, and only nodes of kind node run an implementation; remove impl:"},
		{"layer type", "a: {}\n  r: {impl: ./nudp.yaml, image: x}", "node r runs impl ./nudp.yaml, whose profile has no bootstrap command for layer udp-a-r's type udp4 (it has eth-dix); add one under steps.bootstrap in the profile, or leave the node out of udp-a-r"},
	} {
		src := "name: t\nnodes:\n  " + tc.nodes + "\nlinks:\n  - {endpoints: [a:e1, r:e1]}\n  - {type: udp, endpoints: [a:u0, r:u0]}\n"
		_, err := Parse(file, []byte(src))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v\nwant %q", tc.name, err, tc.want)
		}
	}
}
