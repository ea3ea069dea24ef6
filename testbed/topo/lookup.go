package topo

import "slices"

// Node is the node with that name, or nil.
func (t *Topology) Node(name string) *Node {
	for _, n := range t.Nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// LinkByID is the link with that ID, or nil. A point-to-point link
// answers to both "a:e1--b:e1" and "b:e1--a:e1"; a bridge link to the
// bridge's name.
func (t *Topology) LinkByID(id string) *Link {
	for _, l := range t.Links {
		if l.ID() == id {
			return l
		}
		if l.Type != LinkBridge && len(l.Endpoints) == 2 && reverseID(l) == id {
			return l
		}
	}
	return nil
}

// Layer is the layer with that name, or nil.
func (t *Topology) Layer(name string) *Layer {
	for _, ly := range t.Layers {
		if ly.Name == name {
			return ly
		}
	}
	return nil
}

// LayersOn are the layers that node is a member of, in Layers order.
func (t *Topology) LayersOn(node string) []*Layer {
	var on []*Layer
	for _, ly := range t.Layers {
		for _, m := range ly.Members {
			if m == node {
				on = append(on, ly)
				break
			}
		}
	}
	return on
}

// Endpoint is node's end of the link, and whether node is on it.
func (l *Link) Endpoint(node string) (Endpoint, bool) {
	for _, e := range l.Endpoints {
		if e.Node == node {
			return e, true
		}
	}
	return Endpoint{}, false
}

// Other is the far end of a point-to-point link (veth or udp) seen from
// node: the endpoint that is not node's. It is the zero Endpoint when the
// link does not have exactly two endpoints or node is not on it.
func (l *Link) Other(node string) Endpoint {
	if len(l.Endpoints) != 2 {
		return Endpoint{}
	}
	switch node {
	case l.Endpoints[0].Node:
		return l.Endpoints[1]
	case l.Endpoints[1].Node:
		return l.Endpoints[0]
	}
	return Endpoint{}
}

// EndpointOf is node's interface on the layer's link: the one its IPCP in
// this layer binds (eth-dix, eth-llc: the device Iface; udp4, udp6: the
// address Addr.Addr()). It is the zero Endpoint when the link is not in t
// or node is not on it.
func (ly *Layer) EndpointOf(t *Topology, node string) Endpoint {
	l := t.LinkByID(ly.Link)
	if l == nil {
		return Endpoint{}
	}
	e, _ := l.Endpoint(node)
	return e
}

// NamesIn are the names node registers in layer, in this order: the
// names the file gives it there (sorted), then, for each layer that node
// runs over layer (in Layers order), that layer's IPCP name on node and
// the layer's name, so that the other members reach node's IPCP and any
// member can enroll through it.
func (t *Topology) NamesIn(layer, node string) []string {
	var names []string
	if n := t.Node(node); n != nil {
		for name, layers := range n.Names {
			if slices.Contains(layers, layer) {
				names = append(names, name)
			}
		}
	}
	slices.Sort(names)
	for _, up := range t.Layers {
		if up.Upper() && slices.Contains(up.Lower[node], layer) {
			names = append(names, IPCPName(up.Name, node), up.Name)
		}
	}
	return names
}
