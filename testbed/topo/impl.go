package topo

import (
	"path/filepath"
	"strings"

	"github.com/o7s/ouroboros/testbed/profiles"
)

// Nodes of other implementations. A node with impl: runs another
// Ouroboros implementation than ours (the reference's irmd, say), driven
// through a profile (testbed/profiles): a shipped one by name, or a file
// relative to the topology file. Such a node is always a container
// (runtime: docker), from the node's image: or the profile's.

// impl reads a node's impl: key, after runtime has set its runtime and
// image.
func (b *builder) impl(n *Node, rn rawNode) {
	if !rn.impl.given() {
		return
	}
	at := rn.impl.pos
	if n.Kind != KindNode {
		if n.Kind != "" {
			b.errorf(at, "node %s is a %s, and only nodes of kind node run an implementation; remove impl:", n.Name, n.Kind)
		}
		return
	}
	n.Impl = rn.impl.s
	if n.Impl == "" {
		b.errorf(at, "impl of node %s is empty; write impl: %s (shipped), or impl: ./myimpl.yaml (a profile of your own)", n.Name, strings.Join(profiles.Shipped(), " or impl: "))
		return
	}
	dir := ""
	if b.t.File != "" {
		dir = filepath.Dir(b.t.File)
	}
	p, err := profiles.Load(n.Impl, dir)
	if err != nil {
		b.errorf(at, "node %s: %v", n.Name, err)
		return
	}
	n.Profile = p
	if rn.runtime.given() && rn.runtime.s == RuntimeNetns {
		b.errorf(rn.runtime.pos, "node %s runs impl %s, which runs in a container of its own (its own /run and /dev/shm); remove runtime: netns", n.Name, n.Impl)
	}
	n.Runtime = RuntimeDocker
	if n.Image == "" {
		n.Image = p.Image
	}
	if n.Image == "" {
		b.errorf(at, "node %s runs impl %s and names no image; add image: with the implementation's image (for the reference, one you built with irmd, irm and its IPCPs: make interop IMAGE=... explains)", n.Name, n.Impl)
	}
}

// foreign checks that the nodes of other implementations are only in
// layers of types their profile can bootstrap. (They are never tunnel
// gateways: those are namespaces.)
func (b *builder) foreign(f *rawFile) {
	at := map[string]pos{}
	for _, rn := range f.nodes {
		at[rn.name.s] = rn.impl.pos
	}
	for _, n := range b.t.Nodes {
		if !n.Foreign() {
			continue
		}
		for _, ly := range b.layersOn(n.Name) {
			if !n.Profile.Supports(ly.Type) {
				b.errorf(at[n.Name], "node %s runs impl %s, whose profile has no bootstrap command for layer %s's type %s (it has %s); add one under steps.bootstrap in the profile, or leave the node out of %s",
					n.Name, n.Impl, ly.Name, ly.Type, strings.Join(n.Profile.Types(), ", "), ly.Name)
			}
		}
	}
}
