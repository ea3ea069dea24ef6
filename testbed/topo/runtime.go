package topo

import (
	"math"
	"strconv"
	"strings"

	"github.com/o7s/ouroboros/internal/units"
)

// MinMemory is the least memory a docker node may be given (the engine
// refuses less than 6 MiB; an idle onode has about 12 MiB resident: 4 to
// 5 of its own and 8 of its code, which counts against the memory of the
// container that reads it first).
const MinMemory = 16 << 20

// runtime sets a node's runtime, image and limits from the file: its own
// runtime: or the file's; image:, cpus: and memory: for docker nodes only.
func (b *builder) runtime(n *Node, rn rawNode) {
	n.Runtime = b.t.Runtime
	if rn.runtime.given() {
		switch rn.runtime.s {
		case RuntimeNetns, RuntimeDocker:
			n.Runtime = rn.runtime.s
		default:
			b.errorf(rn.runtime.pos, "unknown runtime %q for node %s; write runtime: netns or runtime: docker", rn.runtime.s, n.Name)
		}
	}
	if rn.impl.given() && n.Kind == KindNode {
		n.Runtime = RuntimeDocker // another implementation: always a container (impl.go says so of runtime: netns)
	}
	if n.Kind != KindNode && n.Kind != "" {
		if rn.runtime.given() && rn.runtime.s == RuntimeDocker {
			b.errorf(rn.runtime.pos, "node %s is a %s, which is always a network namespace (only nodes that run onode can be containers); remove runtime:", n.Name, n.Kind)
		}
		n.Runtime = RuntimeNetns
	}
	docker := n.Runtime == RuntimeDocker
	for _, k := range []struct {
		key string
		v   scalar
	}{{"image", rn.image}, {"cpus", rn.cpus}, {"memory", rn.memory}} {
		if k.v.given() && !docker {
			b.errorf(k.v.pos, "node %s runs in a network namespace, and %s: is for containers; add runtime: docker to the node (or to the file), or remove %s:", n.Name, k.key, k.key)
		}
	}
	if !docker {
		return
	}
	if rn.image.given() {
		n.Image = rn.image.s
		if n.Image == "" || strings.ContainsAny(n.Image, " \t\n") {
			b.errorf(rn.image.pos, "image %q of node %s is not an image reference; write image: o7s/node:latest (or your own image with onode on its PATH)", rn.image.s, n.Name)
		}
	}
	if rn.cpus.given() {
		c, err := strconv.ParseFloat(rn.cpus.s, 64)
		if err != nil || c <= 0 || c > 1024 || math.IsNaN(c) {
			b.errorf(rn.cpus.pos, "cpus %q of node %s is not a number of CPUs; write cpus: 0.5 (more than 0)", rn.cpus.s, n.Name)
		} else {
			n.CPUs = c
		}
	}
	if rn.memory.given() {
		m, err := ParseBytes(rn.memory.s)
		switch {
		case err != nil:
			b.errorf(rn.memory.pos, "memory %q of node %s: %v; write memory: 256m", rn.memory.s, n.Name, err)
		case m < MinMemory:
			b.errorf(rn.memory.pos, "memory %s of node %s is too little for onode (at least 16m); write memory: 64m or more", rn.memory.s, n.Name)
		default:
			n.Memory = m
		}
	}
}

// ParseBytes reads an amount of memory as Docker writes it (units.ParseBytes).
func ParseBytes(s string) (int64, error) { return units.ParseBytes(s) }
