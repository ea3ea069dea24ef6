package sim

import (
	"context"
	"fmt"
	"time"

	"github.com/o7s/ouroboros/stack/ipcp"
)

// Broadcast forms a broadcast layer over every node and link of the
// network, by an operator's steps: on every node create an IPCP named
// <layer>.<node>, bind it to that name and to the layer's name and
// register both in the node's link layers; bootstrap the first node,
// enroll the others breadth-first through a neighbour, and give every
// link a data-transfer adjacency. The network must be a tree (a broadcast
// layer has no loop protection). It returns the IPCP of each node, by node
// name, once every member has all its adjacencies.
func (n *Net) Broadcast(name string) (map[string]uint32, error) {
	if err := n.tree(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ids, err := n.form(ctx, name, ipcp.Broadcast, ipcp.Config{Layer: name}, ipcp.CompDT)
	if err != nil {
		return nil, err
	}
	// The accepting side adds its adjacency after the connect returns.
	for {
		var lag []string
		for _, nd := range n.Nodes {
			info, _, err := nd.N.IPCPDetail(ids[nd.Name])
			if err != nil {
				return nil, err
			}
			if len(info.Neighbours) < len(nd.links) {
				lag = append(lag, fmt.Sprintf("%s(%d of %d)", nd.Name, len(info.Neighbours), len(nd.links)))
			}
		}
		if len(lag) == 0 {
			return ids, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("broadcast layer %s: adjacencies missing: %v", name, lag)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// tree checks that the network is connected and has no loop.
func (n *Net) tree() error {
	if len(n.Nodes) == 0 {
		return nil
	}
	if len(n.Links) != len(n.Nodes)-1 {
		return fmt.Errorf("sim: a broadcast layer needs a tree; %d nodes have %d links, not %d", len(n.Nodes), len(n.Links), len(n.Nodes)-1)
	}
	seen := map[*Node]bool{n.Nodes[0]: true}
	queue := []*Node{n.Nodes[0]}
	for len(queue) > 0 {
		nd := queue[0]
		queue = queue[1:]
		for _, l := range nd.links {
			if nb := l.Other(nd); !seen[nb] {
				seen[nb] = true
				queue = append(queue, nb)
			}
		}
	}
	if len(seen) != len(n.Nodes) {
		return fmt.Errorf("sim: a broadcast layer needs a tree; %d of %d nodes are connected to %s", len(seen), len(n.Nodes), n.Nodes[0].Name)
	}
	return nil
}
