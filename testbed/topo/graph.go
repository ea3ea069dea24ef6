package topo

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Dot writes the physical graph in Graphviz DOT, captioned with the
// unicast and broadcast layers if there are any: nodes as boxes, bridges
// as diamonds (labelled with the layers on their LAN), hosts as ellipses;
// each point-to-point link as an edge with its interfaces at its ends
// (and addresses, on udp links, which are dashed) and its layers and
// mtu in the middle; each bridge link as one edge per endpoint to the
// bridge. The output depends only on t.
func (t *Topology) Dot(w io.Writer) error {
	var b strings.Builder
	on := t.layersByLink()
	fmt.Fprintf(&b, "graph %s {\n", dotQuote(t.Name))
	if up := t.upperSummary(); len(up) > 0 {
		fmt.Fprintf(&b, "\tlabel=%s;\n\tlabelloc=b;\n\tfontname=\"sans-serif\";\n", dotQuote(strings.Join(up, "\n")))
	}
	b.WriteString("\tnode [fontname=\"sans-serif\"];\n\tedge [fontname=\"sans-serif\", fontsize=10];\n")
	for _, n := range t.Nodes {
		switch n.Kind {
		case KindBridge:
			label := strings.Join(append([]string{n.Name}, on[n.Name]...), "\n")
			fmt.Fprintf(&b, "\t%s [shape=diamond, label=%s];\n", dotQuote(n.Name), dotQuote(label))
		case KindHost:
			fmt.Fprintf(&b, "\t%s [shape=ellipse];\n", dotQuote(n.Name))
		default:
			fmt.Fprintf(&b, "\t%s [shape=box];\n", dotQuote(n.Name))
		}
	}
	for _, l := range t.Links {
		if l.Type == LinkBridge {
			for _, e := range l.Endpoints {
				fmt.Fprintf(&b, "\t%s -- %s [taillabel=%s];\n", dotQuote(e.Node), dotQuote(l.Bridge), dotQuote(endLabel(e, " ")))
			}
			continue
		}
		if len(l.Endpoints) != 2 {
			continue
		}
		a, z := l.Endpoints[0], l.Endpoints[1]
		fmt.Fprintf(&b, "\t%s -- %s [taillabel=%s, headlabel=%s", dotQuote(a.Node), dotQuote(z.Node),
			dotQuote(endLabel(a, "\n")), dotQuote(endLabel(z, "\n")))
		if ls := on[l.ID()]; len(ls) > 0 {
			fmt.Fprintf(&b, ", label=%s", dotQuote(strings.Join(ls, "\n")))
		}
		if l.Type == LinkUDP {
			b.WriteString(", style=dashed")
		}
		b.WriteString("];\n")
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// Mermaid writes the physical graph as a Mermaid flowchart (graph LR),
// titled with the unicast and broadcast layers if there are any:
// nodes as rectangles, bridges as hexagons, hosts as stadiums, with the
// same labels as Dot. Mermaid ids are n0, n1, ... in node order, so that
// no node name can clash with Mermaid's syntax.
func (t *Topology) Mermaid(w io.Writer) error {
	var b strings.Builder
	on := t.layersByLink()
	id := map[string]string{}
	if up := t.upperSummary(); len(up) > 0 {
		fmt.Fprintf(&b, "---\ntitle: %q\n---\n", strings.Join(up, "; "))
	}
	b.WriteString("graph LR\n")
	for i, n := range t.Nodes {
		id[n.Name] = "n" + strconv.Itoa(i)
		switch n.Kind {
		case KindBridge:
			label := strings.Join(append([]string{n.Name}, on[n.Name]...), "<br>")
			fmt.Fprintf(&b, "    %s{{%s}}\n", id[n.Name], mermaidQuote(label))
		case KindHost:
			fmt.Fprintf(&b, "    %s([%s])\n", id[n.Name], mermaidQuote(n.Name))
		default:
			fmt.Fprintf(&b, "    %s[%s]\n", id[n.Name], mermaidQuote(n.Name))
		}
	}
	for _, l := range t.Links {
		if l.Type == LinkBridge {
			for _, e := range l.Endpoints {
				fmt.Fprintf(&b, "    %s ---|%s| %s\n", id[e.Node], mermaidQuote(endLabel(e, " ")), id[l.Bridge])
			}
			continue
		}
		if len(l.Endpoints) != 2 {
			continue
		}
		a, z := l.Endpoints[0], l.Endpoints[1]
		label := endLabel(a, " ") + " — " + endLabel(z, " ")
		if ls := on[l.ID()]; len(ls) > 0 {
			label += "<br>" + strings.Join(ls, "<br>")
		}
		fmt.Fprintf(&b, "    %s ---|%s| %s\n", id[a.Node], mermaidQuote(label), id[z.Node])
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// upperSummary names the unicast and broadcast layers and what they run
// over, a line each, for the physical graph's caption (otb graph --layer
// draws each one).
func (t *Topology) upperSummary() []string {
	var s []string
	for _, ly := range t.Layers {
		if ly.Upper() {
			s = append(s, fmt.Sprintf("%s (%s over %s)", ly.Name, ly.Type, strings.Join(ly.LowerLayers(), ", ")))
		}
	}
	return s
}

// layersByLink labels each link, keyed by its ID: a line per layer on it,
// "name (type)" with ", implied" for implied ones, then "mtu N" if the
// link sets one.
func (t *Topology) layersByLink() map[string][]string {
	on := map[string][]string{}
	for _, ly := range t.Layers {
		s := ly.Name + " (" + ly.Type
		if ly.Implied {
			s += ", implied"
		}
		on[ly.Link] = append(on[ly.Link], s+")")
	}
	for _, l := range t.Links {
		if l.MTU != 0 && len(l.Endpoints) > 0 {
			on[l.ID()] = append(on[l.ID()], "mtu "+strconv.Itoa(l.MTU))
		}
	}
	return on
}

// endLabel is an endpoint's interface, and its address if it has one.
func endLabel(e Endpoint, sep string) string {
	if e.Addr.IsValid() {
		return e.Iface + sep + e.Addr.String()
	}
	return e.Iface
}

// dotQuote quotes s as a DOT string; a newline becomes DOT's \n.
func dotQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

// mermaidQuote quotes s as a Mermaid label, with " as an entity.
func mermaidQuote(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, "#quot;") + `"`
}
