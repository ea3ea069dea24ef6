package netns

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/o7s/ouroboros/testbed/topo"
)

// OpDisconnect asks a neighbour of a restarted node to drop the adjacency
// it made to the node's old onode (DISCONNECT_IPCP), before it connects
// again. It is not a deploy step; it fails harmlessly when there is
// nothing to drop.
const OpDisconnect Op = "disconnect"

// describe is a step in words, OpDisconnect included.
func describe(s Step) string {
	if s.Op == OpDisconnect {
		return fmt.Sprintf("disconnect %s from %s (%s)", s.IPCP, s.Dst, s.Comp)
	}
	return s.String()
}

// memberUp tells whether a member of a layer is up: its node runs and its
// IPCP is enrolled in the layer.
type memberUp func(layer, node string) bool

// nodePlan is how a node that was stopped comes back: what deploy did for
// it (Steps), with each unicast and broadcast layer joined again through a
// member that is up, and the adjacencies of the layer's connect strategy
// made again with the members that are up. A step's Node is the node, or
// a neighbour that made an adjacency to it at deploy and makes it again.
type nodePlan struct {
	Steps []Step
	// Notes say what the plan leaves out, and why.
	Notes []string
}

// restartPlan plans a node's start from the steps its lab was deployed
// with (all, in deploy order) and its layers. A layer none of whose other
// members is up is bootstrapped again by the node, with the configuration
// the layer was bootstrapped with; otherwise the node enrolls through a
// member that is up: the one it enrolled through at deploy, else one of
// its adjacencies, else any member with which it shares a lower layer. A
// layer whose members are up but share no lower layer with the node is an
// error: bootstrapping it again would split it in two.
func restartPlan(all []Step, layers []LayerState, node string, up memberUp) (nodePlan, error) {
	var p nodePlan
	for _, ls := range layers {
		if _, member := ls.IPCPs[node]; !member {
			continue
		}
		if ls.Type != topo.LayerUnicast && ls.Type != topo.LayerBroadcast {
			for _, s := range all {
				if s.Layer == ls.Name && s.Node == node {
					s.Done = ""
					if s.Op == OpBootstrap {
						s.Done = fmt.Sprintf("%-10s %s on %s again", "layer", ls.Name, ls.Link)
					}
					p.Steps = append(p.Steps, s)
				}
			}
			continue
		}
		if err := p.upper(all, ls, node, up); err != nil {
			return p, err
		}
	}
	for _, s := range all { // the node's own names
		if s.Layer == "" && s.Node == node {
			p.Steps = append(p.Steps, s)
		}
	}
	return p, nil
}

// upper plans one unicast or broadcast layer.
func (p *nodePlan) upper(all []Step, ls LayerState, node string, up memberUp) error {
	self := ls.IPCPs[node]
	nodeOf := map[string]string{} // IPCP name -> node
	for m, name := range ls.IPCPs {
		nodeOf[name] = m
	}
	var prep, regs []Step
	var conf, via *Step // the layer's bootstrap step; the node's enrollment at deploy
	for i, s := range all {
		if s.Layer != ls.Name {
			continue
		}
		switch {
		case s.Op == OpBootstrap:
			conf = &all[i]
		case s.Node != node:
		case s.Op == OpCreate, s.Op == OpName, s.Op == OpBind:
			prep = append(prep, s)
		case s.Op == OpRegister:
			regs = append(regs, s)
		case s.Op == OpEnroll:
			via = &all[i]
		}
	}
	// The adjacencies of the connect strategy: those the node made, and
	// those made to it, each made again by the side that made it.
	var conns []Step
	peers := map[string]bool{}
	for _, s := range all {
		if s.Layer != ls.Name || s.Op != OpConnect {
			continue
		}
		peer := ""
		switch {
		case s.Node == node:
			peer = nodeOf[s.Dst]
		case s.Dst == self:
			peer = s.Node
		default:
			continue
		}
		peers[peer] = true
		if !up(ls.Name, peer) {
			continue
		}
		if s.Node != node {
			d := s
			d.Op, d.QoS, d.Done = OpDisconnect, "", ""
			conns = append(conns, d)
		}
		s.Done = ""
		conns = append(conns, s)
	}
	var upNow []string
	for _, m := range ls.Members {
		if m != node && up(ls.Name, m) {
			upNow = append(upNow, m)
		}
	}
	p.Steps = append(p.Steps, prep...)
	if len(upNow) == 0 {
		if conf == nil {
			return fmt.Errorf("layer %s: no other member is up, and the lab recorded no configuration to bootstrap it with", ls.Name)
		}
		b := *conf
		b.Node, b.IPCP = node, self
		b.Done = fmt.Sprintf("%-10s bootstrapped %s (%s) again: no other member is up", self, ls.Name, ls.Type)
		p.Steps = append(p.Steps, b)
		p.Steps = append(p.Steps, regs...)
		return nil
	}
	var cands []string
	if via != nil {
		cands = append(cands, nodeOf[via.Dst])
	}
	for _, m := range ls.Members {
		if peers[m] {
			cands = append(cands, m)
		}
	}
	for _, m := range ls.Members {
		if m != node && shareLower(ls, node, m) {
			cands = append(cands, m)
		}
	}
	enroller := ""
	for _, m := range cands {
		if up(ls.Name, m) {
			enroller = m
			break
		}
	}
	if enroller == "" {
		return fmt.Errorf("layer %s: no member that shares a lower layer with %s is up (members up: %s); start one of them first",
			ls.Name, node, strings.Join(upNow, ", "))
	}
	p.Steps = append(p.Steps, regs...)
	p.Steps = append(p.Steps, Step{Op: OpEnroll, Node: node, Layer: ls.Name, IPCP: self, Dst: ls.IPCPs[enroller]})
	p.Steps = append(p.Steps, conns...)
	var joined []string
	for _, s := range conns {
		if s.Op != OpConnect {
			continue
		}
		other := nodeOf[s.Dst]
		if s.Node != node {
			other = s.Node
		}
		if name := ls.IPCPs[other]; !slices.Contains(joined, name) {
			joined = append(joined, name)
		}
	}
	done := fmt.Sprintf("%-10s enrolled via %s", self, ls.IPCPs[enroller])
	if len(joined) > 0 {
		done += ", connected to " + strings.Join(joined, ", ")
	}
	p.Steps[len(p.Steps)-1].Done = done
	var down []string
	for _, m := range ls.Members {
		if peers[m] && !up(ls.Name, m) {
			down = append(down, ls.IPCPs[m])
		}
	}
	if len(down) > 0 {
		p.Notes = append(p.Notes, fmt.Sprintf("%-10s not connected to %s, which is not up; it connects when it starts", self, strings.Join(down, ", ")))
	}
	return nil
}

// shareLower tells whether two members of a layer have a lower layer in
// common.
func shareLower(ls LayerState, a, b string) bool {
	for _, l := range ls.Lower[a] {
		if slices.Contains(ls.Lower[b], l) {
			return true
		}
	}
	return false
}

// errNodeKind is the error of stopping or starting a node that runs no
// onode.
var errNodeKind = errors.New("runs no onode")
