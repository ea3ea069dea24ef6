package topo

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// LayerGraph is one layer's graph: its members, and which of them are
// adjacent. For a unicast or broadcast layer an edge is an adjacency the
// deploy makes (management and data transfer; data transfer only in a
// broadcast layer) or the enrollment of one member through another; for a
// shim layer an edge joins two members on the layer's link.
type LayerGraph struct {
	Layer   string
	Type    string
	Members []LayerMember
	Edges   []LayerEdge
	live    bool
}

// LayerMember is a vertex of a layer graph.
type LayerMember struct {
	Node string
	Addr string // its address in the layer, when live data gives one
	Boot bool   // the bootstrapper
}

// LayerEdge joins two members. A and B are in member order, except for
// an enrollment, where A enrolled through B.
type LayerEdge struct {
	A, B    string
	Via     []string // the lower layers (or link) it goes through
	Connect bool     // the deploy makes an adjacency between them
	Enroll  bool     // A enrolls through B
	// Live data: Seen when a member reports the adjacency, Up when every
	// report of it says it is up.
	Seen, Up bool
}

// LayerGraph is the graph of the named layer as the file plans it; nil
// when t has no such layer.
func (t *Topology) LayerGraph(name string) *LayerGraph {
	ly := t.Layer(name)
	if ly == nil {
		return nil
	}
	g := &LayerGraph{Layer: ly.Name, Type: ly.Type}
	for i, m := range ly.Members {
		g.Members = append(g.Members, LayerMember{Node: m, Boot: ly.Upper() && i == 0})
	}
	if !ly.Upper() {
		for i, a := range ly.Members {
			for _, b := range ly.Members[i+1:] {
				g.Edges = append(g.Edges, LayerEdge{A: a, B: b, Via: []string{ly.Link}, Connect: true})
			}
		}
		return g
	}
	for _, s := range ly.Steps {
		if s.Via != "" {
			e := g.edge(ly, s.Node, s.Via)
			e.Enroll = true
			e.A, e.B = s.Node, s.Via
		}
		for _, p := range s.Connect {
			g.edge(ly, s.Node, p).Connect = true
		}
	}
	return g
}

// edge is the edge between x and y, added if new.
func (g *LayerGraph) edge(ly *Layer, x, y string) *LayerEdge {
	if i := g.index(x, y); i >= 0 {
		return &g.Edges[i]
	}
	if slices.Index(ly.Members, x) > slices.Index(ly.Members, y) {
		x, y = y, x
	}
	g.Edges = append(g.Edges, LayerEdge{A: x, B: y, Via: ly.shared(x, y)})
	return &g.Edges[len(g.Edges)-1]
}

// LiveMember is what a running member reports about its IPCP in a layer.
type LiveMember struct {
	Node       string
	Addr       string
	Neighbours []LiveNeighbour
}

// LiveNeighbour is one adjacency a member reports.
type LiveNeighbour struct {
	Addr string
	Comp string
	Up   bool
}

// Live adds what the members report: their addresses, and each adjacency
// they have with another member (an adjacency the plan does not have is
// added). Neighbours at addresses no member has are left out.
func (g *LayerGraph) Live(members []LiveMember) {
	g.live = true
	byAddr := map[string]string{}
	for _, lm := range members {
		for i := range g.Members {
			if g.Members[i].Node == lm.Node && lm.Addr != "" {
				g.Members[i].Addr = lm.Addr
				byAddr[lm.Addr] = lm.Node
			}
		}
	}
	down := map[int]bool{}
	for _, lm := range members {
		for _, nb := range lm.Neighbours {
			peer, ok := byAddr[nb.Addr]
			if !ok || peer == lm.Node {
				continue
			}
			i := g.index(lm.Node, peer)
			if i < 0 {
				g.Edges = append(g.Edges, LayerEdge{A: lm.Node, B: peer})
				i = len(g.Edges) - 1
			}
			if !nb.Up {
				down[i] = true
			}
			g.Edges[i].Seen, g.Edges[i].Up = true, !down[i]
		}
	}
}

// index is the index of the edge between x and y, or -1.
func (g *LayerGraph) index(x, y string) int {
	return slices.IndexFunc(g.Edges, func(e LayerEdge) bool {
		return (e.A == x && e.B == y) || (e.A == y && e.B == x)
	})
}

func (m LayerMember) label() string {
	s := m.Node
	if m.Boot {
		s += " (bootstrap)"
	}
	if m.Addr != "" {
		s += "\n" + m.Addr
	}
	return s
}

func (e LayerEdge) label() string {
	var parts []string
	if len(e.Via) > 0 {
		parts = append(parts, strings.Join(e.Via, ", "))
	}
	if e.Enroll {
		parts = append(parts, e.A+" enrolls via "+e.B)
	}
	if !e.Connect && e.Enroll {
		parts = append(parts, "no adjacency")
	}
	return strings.Join(parts, "\n")
}

// liveState says how live data sees an edge: "" without live data.
func (g *LayerGraph) liveState(e LayerEdge) string {
	switch {
	case !g.live:
		return ""
	case e.Seen && e.Up && !e.Connect:
		return "up, not planned"
	case e.Seen && e.Up:
		return "up"
	case e.Seen:
		return "down"
	case e.Connect:
		return "missing"
	}
	return ""
}

// Dot writes the layer graph in Graphviz DOT: members as boxes (the
// bootstrapper's double), adjacencies as edges labelled with the lower
// layers they go through; an enrollment as an arrow from the enrollee to
// its enroller, bold where it is an adjacency too and dashed where it is
// not. With live data, an adjacency no member reports is red and dotted,
// one reported down red, one not planned blue.
func (g *LayerGraph) Dot(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "graph %s {\n", dotQuote(g.Layer))
	fmt.Fprintf(&b, "\tlabel=%s;\n", dotQuote(g.Layer+" ("+g.Type+")"))
	b.WriteString("\tnode [fontname=\"sans-serif\", shape=box];\n\tedge [fontname=\"sans-serif\", fontsize=10];\n")
	for _, m := range g.Members {
		fmt.Fprintf(&b, "\t%s [label=%s", dotQuote(m.Node), dotQuote(m.label()))
		if m.Boot {
			b.WriteString(", peripheries=2")
		}
		b.WriteString("];\n")
	}
	for _, e := range g.Edges {
		attrs := []string{"label=" + dotQuote(joinNL(e.label(), g.liveState(e)))}
		style := ""
		if e.Enroll {
			attrs = append(attrs, "dir=forward")
			style = "bold"
			if !e.Connect {
				style = "dashed"
			}
		}
		switch g.liveState(e) {
		case "missing":
			attrs = append(attrs, "color=red")
			style = "dotted"
		case "down":
			attrs = append(attrs, "color=red")
		case "up, not planned":
			attrs = append(attrs, "color=blue")
		}
		if style != "" {
			attrs = append(attrs, "style="+style)
		}
		fmt.Fprintf(&b, "\t%s -- %s [%s];\n", dotQuote(e.A), dotQuote(e.B), strings.Join(attrs, ", "))
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// Mermaid writes the layer graph as a Mermaid flowchart: adjacencies as
// lines (thick where the enrollment went too, dotted where only the
// enrollment did), with the same labels as Dot.
func (g *LayerGraph) Mermaid(w io.Writer) error {
	var b strings.Builder
	id := map[string]string{}
	b.WriteString("graph LR\n")
	for i, m := range g.Members {
		id[m.Node] = "n" + strconv.Itoa(i)
		if m.Boot {
			fmt.Fprintf(&b, "    %s[[%s]]\n", id[m.Node], mermaidQuote(strings.ReplaceAll(m.label(), "\n", "<br>")))
		} else {
			fmt.Fprintf(&b, "    %s[%s]\n", id[m.Node], mermaidQuote(strings.ReplaceAll(m.label(), "\n", "<br>")))
		}
	}
	for _, e := range g.Edges {
		line := "---"
		switch {
		case e.Enroll && e.Connect:
			line = "==>"
		case e.Enroll:
			line = "-.->"
		case g.liveState(e) == "missing":
			line = "-.-"
		}
		label := strings.ReplaceAll(joinNL(e.label(), g.liveState(e)), "\n", "<br>")
		if label == "" {
			fmt.Fprintf(&b, "    %s %s %s\n", id[e.A], line, id[e.B])
			continue
		}
		fmt.Fprintf(&b, "    %s %s|%s| %s\n", id[e.A], line, mermaidQuote(label), id[e.B])
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func joinNL(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "\n" + b
}
