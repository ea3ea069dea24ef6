//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	"github.com/onsi/gomega/gexec"
)

// The parts of otb inspect -o json these suites read.
type (
	inspectReport struct {
		Layers []inspectLayer `json:"layers"`
		Nodes  []struct {
			Name  string `json:"name"`
			Sock  string `json:"sock"`
			Flows []struct {
				Name   string `json:"name"`
				Cipher uint32 `json:"cipher"`
			} `json:"flows"`
		} `json:"nodes"`
	}
	inspectLayer struct {
		Name    string       `json:"name"`
		Type    string       `json:"type"`
		Members []string     `json:"members"`
		Status  []ipcpStatus `json:"status"`
	}
	ipcpStatus struct {
		Node       string `json:"node"`
		IPCP       string `json:"ipcp"`
		State      string `json:"state"`
		Layer      string `json:"layer"`
		Enrolled   bool   `json:"enrolled"`
		Addr       string `json:"addr"`
		Neighbours []struct {
			Addr string `json:"addr"`
			Comp string `json:"comp"`
			Up   bool   `json:"up"`
			Cube string `json:"cube"`
		} `json:"neighbours"`
		Routes []struct {
			Dst      string   `json:"dst"`
			NextHops []string `json:"next_hops"`
		} `json:"routes"`
		Names []string `json:"names"`
	}
)

// layerStatus is what otb inspect -o json says about a layer's members.
func layerStatus(ctx context.Context, lab, layer string) inspectLayer {
	out := mustOTB(ctx, "inspect", lab, "-o", "json")
	var r inspectReport
	Expect(json.Unmarshal([]byte(out), &r)).To(Succeed())
	for _, l := range r.Layers {
		if l.Name == layer {
			return l
		}
	}
	Fail("otb inspect shows no layer " + layer)
	return inspectLayer{}
}

// expectEnrolled checks that every member of a layer is enrolled in it and
// operational, with an address (unicast) and a neighbour whose adjacency
// is up.
func expectEnrolled(ctx context.Context, lab, layer string, members ...string) inspectLayer {
	l := layerStatus(ctx, lab, layer)
	var nodes []string
	for _, st := range l.Status {
		nodes = append(nodes, st.Node)
		Expect(st.Enrolled).To(BeTrue(), "%s: state %s, layer %q", st.IPCP, st.State, st.Layer)
		Expect(st.State).To(Equal("operational"), st.IPCP)
		Expect(st.Layer).To(Equal(layer), st.IPCP)
		if l.Type == "unicast" {
			Expect(st.Addr).NotTo(BeEmpty(), st.IPCP)
		}
		up := false
		for _, nb := range st.Neighbours {
			up = up || nb.Up
		}
		Expect(up).To(BeTrue(), "%s has no adjacency up: %+v", st.IPCP, st.Neighbours)
	}
	Expect(nodes).To(ConsistOf(members))
	return l
}

// addrOf is a member's address in a layer.
func addrOf(l inspectLayer, node string) string {
	for _, st := range l.Status {
		if st.Node == node {
			return st.Addr
		}
	}
	return ""
}

// nextHop is node's first next hop towards dst in a layer, or "".
func nextHop(l inspectLayer, node, dst string) string {
	to := addrOf(l, dst)
	for _, st := range l.Status {
		if st.Node != node {
			continue
		}
		for _, r := range st.Routes {
			if r.Dst == to && len(r.NextHops) > 0 {
				return r.NextHops[0]
			}
		}
	}
	return ""
}

// nodeDirs maps each node of a lab to its directory (where its socket,
// log and security directory are).
func nodeDirs(ctx context.Context, lab string) map[string]string {
	var r inspectReport
	Expect(json.Unmarshal([]byte(mustOTB(ctx, "inspect", lab, "-o", "json")), &r)).To(Succeed())
	dirs := map[string]string{}
	for _, n := range r.Nodes {
		dirs[n.Name] = filepath.Dir(n.Sock)
	}
	return dirs
}

// serveOping binds oping to a name on a node and starts a server there.
func serveOping(ctx context.Context, lab, node, name string) {
	on(ctx, lab, node, binDir+"/irm", "bind", "program", binDir+"/oping", "name", name)
	srv := serve(lab, node, binDir+"/oping", "--listen")
	Eventually(srv).Should(gbytes.Say("server started"))
}

var _ = Describe("a unicast layer over four nodes (default)", Ordered, Label("tier:e2e", "runtime:netns", "layer:unicast", "layer:eth-dix", "layer:eth-llc", "layer:udp"), func() {
	lab := labName("default")
	BeforeAll(func(ctx SpecContext) {
		deployLab(ctx, "../topologies/default.yaml", lab)
		serveOping(ctx, lab, "d", "oping")
		on(ctx, lab, "d", binDir+"/irm", "bind", "program", binDir+"/operf", "name", "operf")
		srv := serve(lab, "d", binDir+"/operf", "--listen")
		Eventually(srv).Should(gbytes.Say("server started"))
	}, NodeTimeout(time.Minute))

	It("enrolls every member, each with routes to all the others", func(ctx SpecContext) {
		l := expectEnrolled(ctx, lab, "net", "a", "b", "c", "d")
		for _, st := range l.Status {
			Expect(st.Routes).To(HaveLen(3), "%s routes", st.IPCP)
		}
		Expect(nextHop(l, "a", "d")).To(Equal(addrOf(l, "b")), "a reaches d through b")
		Expect(mustOTB(ctx, "inspect", lab)).To(MatchRegexp(`net\.d +operational +\S+ +net\.c \(mgmt,dt\)`))
	}, SpecTimeout(30*time.Second))

	It("pings d from a across three hops and three kinds of shim, payloads intact", func(ctx SpecContext) {
		out := on(ctx, lab, "a", binDir+"/oping", "-n", "oping", "-c", "200", "-i", "0", "-s", "1000")
		Expect(out).To(ContainSubstring("200 packets transmitted, 200 received"))
		Expect(out).To(ContainSubstring(" 0% packet loss"))
	}, SpecTimeout(time.Minute))

	It("measures with operf from a to d", func(ctx SpecContext) {
		out := on(ctx, lab, "a", binDir+"/operf", "-n", "operf", "-d", "1s", "-s", "1000", "-t", "bi", "-f")
		Expect(out).To(MatchRegexp(`[1-9]\d* packets transmitted, [1-9]\d* received`))
	}, SpecTimeout(time.Minute))

	It("pings d from a with every QoS that runs FRCT, and measures a reliable flow", func(ctx SpecContext) {
		for _, q := range []string{"best", "video", "voice", "data"} {
			out := on(ctx, lab, "a", binDir+"/oping", "-n", "oping", "-q", q, "-c", "100", "-i", "0", "-s", "1000")
			Expect(out).To(ContainSubstring("100 packets transmitted, 100 received, 0 out-of-order, 0% packet loss"), "qos %s", q)
		}
		out := on(ctx, lab, "a", binDir+"/operf", "-n", "operf", "-q", "data", "-d", "1s", "-s", "1400", "-t", "bi", "-f")
		Expect(out).To(MatchRegexp(`[1-9]\d* packets transmitted, [1-9]\d* received, 0% packet loss`))
		Expect(out).To(ContainSubstring("FRCT: "))
	}, SpecTimeout(time.Minute))

	It("encrypts a flow when the client side of the name asks for it, and refuses a clear one when the server side does", func(ctx SpecContext) {
		dirs := nodeDirs(ctx, lab)
		cli := filepath.Join(dirs["a"], "security", "client", "oping", "enc.conf")
		Expect(os.MkdirAll(filepath.Dir(cli), 0o755)).To(Succeed())
		Expect(os.WriteFile(cli, []byte("# e2e\nkex = X25519\ncipher = chacha20-poly1305\n"), 0o644)).To(Succeed())
		DeferCleanup(func() { os.Remove(cli) })
		// The client's configuration applies whether or not the name
		// exists on a; once it does, irm name list shows it.
		on(ctx, lab, "a", binDir+"/irm", "name", "create", "oping")
		Expect(on(ctx, lab, "a", binDir+"/irm", "name", "list")).To(ContainSubstring("client: kex=X25519 cipher=chacha20-poly1305"))
		for _, q := range []string{"raw", "data"} {
			Expect(on(ctx, lab, "a", binDir+"/oping", "-n", "oping", "-q", q, "-c", "50", "-i", "0")).
				To(ContainSubstring("50 packets transmitted, 50 received"), "encrypted, qos %s", q)
		}
		// While a ping runs, both ends list the flow with its cipher.
		ping := serve(lab, "a", binDir+"/oping", "-n", "oping", "-c", "30", "-i", "100ms")
		Eventually(ping).Should(gbytes.Say("seq=1 "))
		Expect(on(ctx, lab, "a", binDir+"/irm", "flow", "list")).To(ContainSubstring("chacha20-poly1305"))
		Expect(on(ctx, lab, "d", binDir+"/irm", "flow", "list")).To(ContainSubstring("chacha20-poly1305"))
		ping.Kill()

		srv := filepath.Join(dirs["d"], "security", "server", "oping", "enc.conf")
		Expect(os.MkdirAll(filepath.Dir(srv), 0o755)).To(Succeed())
		Expect(os.WriteFile(srv, []byte("cipher = aes-256-gcm\n"), 0o644)).To(Succeed())
		DeferCleanup(func() { os.Remove(srv) })
		Expect(on(ctx, lab, "a", binDir+"/oping", "-n", "oping", "-c", "5", "-i", "0")).To(ContainSubstring("5 received"),
			"a client with encryption reaches a server that requires it")
		os.Remove(cli)
		start := time.Now()
		out, err := otb(ctx, "exec", "--lab", lab, "a", "--", binDir+"/oping", "-n", "oping", "-c", "1")
		Expect(err).To(HaveOccurred())
		Expect(out).To(ContainSubstring("Failed to allocate flow: -1008."), "ECRYPT, from the server across the layer")
		Expect(time.Since(start)).To(BeNumerically("<", 5*time.Second), "refused at once, not timed out")
	}, SpecTimeout(time.Minute))

	It("reaches a name registered at one end from the other", func(ctx SpecContext) {
		on(ctx, lab, "a", binDir+"/irm", "bind", "program", binDir+"/oping", "name", "oping-a")
		on(ctx, lab, "a", binDir+"/irm", "name", "register", "oping-a", "layer", "net")
		srv := serve(lab, "a", binDir+"/oping", "--listen")
		Eventually(srv).Should(gbytes.Say("server started"))
		Eventually(func() string {
			out, _ := otb(ctx, "exec", "--lab", lab, "d", "--", binDir+"/oping", "-n", "oping-a", "-c", "20", "-i", "0")
			return out
		}).WithContext(ctx).WithTimeout(30 * time.Second).Should(ContainSubstring("20 packets transmitted, 20 received"))
		Expect(layerStatus(ctx, lab, "net").Status[0].Names).To(ContainElement("oping-a"))
	}, SpecTimeout(time.Minute))

	It("draws the layer with live adjacencies", func(ctx SpecContext) {
		out := mustOTB(ctx, "graph", "../topologies/default.yaml", "--layer", "net", "--live", "--lab", lab)
		Expect(out).To(ContainSubstring(`"d" -- "c" [label="llc-cd\nd enrolls via c\nup"`))
		Expect(out).NotTo(ContainSubstring("missing"))
	}, SpecTimeout(30*time.Second))

	It("is ready: otb wait says so at once, as deploy did", func(ctx SpecContext) {
		Expect(mustOTB(ctx, "wait", lab, "--timeout", "10s")).To(ContainSubstring("lab " + lab + " ready"))
	}, SpecTimeout(30*time.Second))

	It("deploys again without changing anything", func(ctx SpecContext) {
		Expect(mustOTB(ctx, "deploy", "../topologies/default.yaml", "--lab", lab)).To(ContainSubstring("nothing to do"))
		Expect(on(ctx, lab, "a", binDir+"/oping", "-n", "oping", "-c", "3", "-i", "10ms")).To(ContainSubstring("3 received"))
	}, SpecTimeout(time.Minute))
})

var _ = Describe("a ring", Ordered, Label("tier:e2e", "runtime:netns", "layer:unicast", "layer:eth-dix", "feature:reroute"), func() {
	lab := labName("ring")
	BeforeAll(func(ctx SpecContext) {
		deployLab(ctx, "../topologies/ring.yaml", lab)
		serveOping(ctx, lab, "b", "oping")
	}, NodeTimeout(time.Minute))

	It("enrolls every member with two neighbours each", func(ctx SpecContext) {
		l := expectEnrolled(ctx, lab, "net", "a", "b", "c", "d")
		for _, st := range l.Status {
			peers := map[string]bool{}
			for _, nb := range st.Neighbours {
				peers[nb.Addr] = true
			}
			Expect(peers).To(HaveLen(2), "%s neighbours", st.IPCP)
		}
	}, SpecTimeout(30*time.Second))

	It("keeps an oping flow going when a link on its path goes down, by routing round the ring", func(ctx SpecContext) {
		// oping gives up after its interval plus 2 s without a reply; the
		// ring's link-state timers (update 1 s, timeout 2 s, recalc 1 s)
		// route round a failure within that.
		cli := serve(lab, "a", binDir+"/oping", "-n", "oping", "-i", "3s", "-c", "8")
		Eventually(cli, 20*time.Second).Should(gbytes.Say(`seq=1 `))
		Expect(nextHop(layerStatus(ctx, lab, "net"), "a", "b")).To(Equal(addrOf(layerStatus(ctx, lab, "net"), "b")))
		mustOTB(ctx, "link", "set", "a:e1--b:e1", "--state", "down", "--lab", lab)
		DeferCleanup(func(ctx SpecContext) { otb(ctx, "link", "set", "a:e1--b:e1", "--state", "up", "--lab", lab) })
		Eventually(cli, 25*time.Second).Should(gbytes.Say(`seq=[4-7] `), "no reply after the link went down")
		l := layerStatus(ctx, lab, "net")
		Expect(nextHop(l, "a", "b")).To(Equal(addrOf(l, "d")), "a reaches b through d")
		Eventually(cli, 30*time.Second).Should(gexec.Exit())
		Expect(string(cli.Out.Contents())).To(ContainSubstring("seq=7 "))
	}, SpecTimeout(2*time.Minute))

	It("uses the link again once it is up", func(ctx SpecContext) {
		mustOTB(ctx, "link", "set", "b:e1--a:e1", "--state", "up", "--lab", lab)
		Eventually(func() string {
			l := layerStatus(ctx, lab, "net")
			return nextHop(l, "a", "b") + " " + addrOf(l, "b")
		}).WithContext(ctx).WithTimeout(30*time.Second).WithPolling(500*time.Millisecond).Should(Satisfy(func(s string) bool {
			f := strings.Fields(s)
			return len(f) == 2 && f[0] == f[1]
		}), "a routes to b directly again")
		Expect(on(ctx, lab, "a", binDir+"/oping", "-n", "oping", "-c", "20", "-i", "0")).To(ContainSubstring("20 received"))
	}, SpecTimeout(time.Minute))

	It("refuses an unknown link, and a lab that is not deployed", func(ctx SpecContext) {
		out, err := otb(ctx, "link", "set", "a:e9--b:e9", "--state", "down", "--lab", lab)
		Expect(err).To(HaveOccurred())
		Expect(out).To(ContainSubstring("lab " + lab + ` has no link "a:e9--b:e9"`))
		out, err = otb(ctx, "link", "set", "a:e1--b:e1", "--state", "down", "--lab", "nosuch"+runTag)
		Expect(err).To(HaveOccurred())
		Expect(out).To(ContainSubstring("no lab nosuch" + runTag + " is deployed"))
	}, SpecTimeout(30*time.Second))
})

var _ = Describe("a star over every shim type", Ordered, Label("tier:e2e", "runtime:netns", "layer:unicast", "layer:eth-dix", "layer:eth-llc", "layer:udp"), func() {
	lab := labName("star")
	BeforeAll(func(ctx SpecContext) {
		deployLab(ctx, "../topologies/star.yaml", lab)
		serveOping(ctx, lab, "s4", "oping")
	}, NodeTimeout(time.Minute))

	It("enrolls every spoke through the hub, with its adjacencies in the voice cube", func(ctx SpecContext) {
		l := expectEnrolled(ctx, lab, "net", "hub", "s1", "s2", "s3", "s4")
		for _, s := range []string{"s1", "s2", "s3"} {
			Expect(nextHop(l, s, "s4")).To(Equal(addrOf(l, "hub")), "%s reaches s4 through the hub", s)
		}
		for _, st := range l.Status {
			dt := 0
			for _, nb := range st.Neighbours {
				if nb.Comp == "dt" {
					dt++
					Expect(nb.Cube).To(Equal("voice"), "%s: a data-transfer adjacency (dt_qos: raw-voice)", st.IPCP)
				}
			}
			Expect(dt).NotTo(BeZero(), st.IPCP)
		}
	}, SpecTimeout(30*time.Second))

	for _, from := range []string{"s1", "s2", "s3"} {
		// Ping-pong (-f): net has no congestion avoidance here (ca: none),
		// so a burst sent without waiting may overflow the hub's queues.
		It("pings s4 (udp6) from "+from+" through the hub", func(ctx SpecContext) {
			out := on(ctx, lab, from, binDir+"/oping", "-n", "oping", "-c", "100", "-f", "-s", "1000")
			Expect(out).To(ContainSubstring("100 packets transmitted, 100 received"))
		}, SpecTimeout(time.Minute))
	}
})

var _ = Describe("nested layers", Ordered, Label("tier:e2e", "runtime:netns", "layer:unicast", "feature:nested"), func() {
	lab := labName("nested")
	BeforeAll(func(ctx SpecContext) {
		deployLab(ctx, "../topologies/nested.yaml", lab)
		serveOping(ctx, lab, "c", "oping")
	}, NodeTimeout(time.Minute))

	It("enrolls the upper layer over the lower one", func(ctx SpecContext) {
		expectEnrolled(ctx, lab, "low", "a", "b", "c")
		top := expectEnrolled(ctx, lab, "top", "a", "c")
		Expect(nextHop(top, "a", "c")).To(Equal(addrOf(top, "c")), "in top, a and c are neighbours")
		low := layerStatus(ctx, lab, "low")
		for _, st := range low.Status {
			if st.Node == "c" {
				Expect(st.Names).To(ContainElements("top", "top.c"), "top's names are registered in low")
			}
		}
	}, SpecTimeout(30*time.Second))

	It("carries a flow in the upper layer from a to c", func(ctx SpecContext) {
		out := on(ctx, lab, "a", binDir+"/oping", "-n", "oping", "-c", "100", "-i", "0", "-s", "1000")
		Expect(out).To(ContainSubstring("100 packets transmitted, 100 received"))
	}, SpecTimeout(time.Minute))
})

var _ = Describe("a broadcast layer on a LAN", Ordered, Label("tier:e2e", "runtime:netns", "layer:broadcast", "layer:unicast", "layer:eth-dix"), func() {
	lab := labName("lanbc")
	BeforeAll(func(ctx SpecContext) {
		requireRoot()
		out, err := otb(ctx, "deploy", "../topologies/lan-broadcast.yaml", "--lab", lab)
		if err != nil && strings.Contains(out, "IPCP type broadcast is not available") {
			Expect(leftovers(lab)).To(BeEmpty())
			Skip("onode has no broadcast IPCP yet: " + strings.TrimSpace(out[strings.LastIndex(out, "otb:"):]))
		}
		DeferCleanup(func(ctx SpecContext) {
			if CurrentSpecReport().Failed() {
				attachState(ctx, lab)
			}
			mustOTB(ctx, "destroy", lab)
			Expect(leftovers(lab)).To(BeEmpty())
		})
		Expect(err).NotTo(HaveOccurred(), out)
	}, NodeTimeout(time.Minute))

	It("enrolls every member of both layers; the broadcast one as a star", func(ctx SpecContext) {
		bc := expectEnrolled(ctx, lab, "bc", "a", "b", "c", "d")
		for _, st := range bc.Status {
			if st.Node != "a" {
				Expect(st.Neighbours).To(HaveLen(1), "%s is adjacent to a only", st.IPCP)
			}
		}
		expectEnrolled(ctx, lab, "net", "a", "b", "c", "d")
	}, SpecTimeout(30*time.Second))

	It("carries a unicast flow across the LAN", func(ctx SpecContext) {
		serveOping(ctx, lab, "d", "oping")
		out := on(ctx, lab, "a", binDir+"/oping", "-n", "oping", "-c", "100", "-i", "0")
		Expect(out).To(ContainSubstring("100 packets transmitted, 100 received"))
	}, SpecTimeout(time.Minute))

	It("delivers a broadcast message to every other member", func(ctx SpecContext) {
		if _, err := os.Stat(filepath.Join(binDir, "obc")); err != nil {
			Skip("bin/obc is absent (the broadcast tool has not landed): the message test needs it")
		}
		var readers []*gexec.Session
		for _, n := range []string{"b", "c", "d"} {
			r := serve(lab, n, binDir+"/obc", "--listen", "-n", "bc")
			Eventually(r).Should(gbytes.Say("New flow."))
			readers = append(readers, r)
		}
		on(ctx, lab, "a", binDir+"/obc", "-n", "bc", "-m", "hello from a")
		for _, r := range readers {
			Eventually(r, 10*time.Second).Should(gbytes.Say("Message is hello from a."))
		}
	}, SpecTimeout(time.Minute))
})

var _ = Describe("bad layers in a topology file", Label("tier:robustness", "runtime:netns", "layer:unicast", "layer:broadcast"), func() {
	head := "name: " + labName("badlay") + "\nnodes: {a: {}, b: {}, c: {}}\nlinks:\n  - endpoints: [a:e1, b:e1]\n  - endpoints: [b:e2, c:e1]\n  - endpoints: [c:e2, a:e2]\nlayers:\n"
	for _, tc := range []struct{ name, layers, want string }{
		{"an unknown lower layer", "  net: {type: unicast, members: [a, b], lower: {a: [dix-a-x], b: [dix-a-b]}}\n", `bad.yaml:8:53: lower layer "dix-a-x" of a in layer net does not exist; did you mean dix-a-b?`},
		{"a lower layer the member is not in", "  net: {type: unicast, members: [a, b], lower: {a: [dix-a-b], b: [dix-c-a]}}\n", "b is not a member of lower layer dix-c-a"},
		{"a cycle of layers", "  x: {type: unicast, members: [a, b], lower: {a: [y], b: [y]}}\n  y: {type: unicast, members: [a, b], lower: {a: [x], b: [x]}}\n", "layers x, y run over each other (x → y → x)"},
		{"members that share no lower layer", "  net: {type: unicast, members: [a, c], lower: {a: [dix-a-b], c: [dix-b-c]}}\n", "member c of layer net shares no lower layer with a"},
		{"a broadcast layer with a loop", "  bc: {type: broadcast, members: [a, b, c], lower: {a: [dix-a-b, dix-c-a], b: [dix-a-b, dix-b-c], c: [dix-b-c, dix-c-a]}, connect: full-mesh}\n", "the adjacencies of broadcast layer bc form a loop"},
		{"a bad policy", "  net: {type: unicast, members: [a, b], lower: {a: [dix-a-b], b: [dix-a-b]}, policies: {routing: ospf, ls_t_timeo: 0}}\n", `unknown routing policy "ospf"`},
	} {
		It("rejects "+tc.name+" and creates nothing", func(ctx SpecContext) {
			requireRoot()
			f := filepath.Join(GinkgoT().TempDir(), "bad.yaml")
			Expect(os.WriteFile(f, []byte(head+tc.layers), 0o644)).To(Succeed())
			out, err := otb(ctx, "deploy", f)
			Expect(err).To(HaveOccurred())
			Expect(out).To(ContainSubstring(tc.want))
			Expect(out).To(MatchRegexp(`bad\.yaml:\d+:\d+: `))
			Expect(leftovers(labName("badlay"))).To(BeEmpty())
			out, err = otb(ctx, "deploy", f, "--dry-run")
			Expect(err).To(HaveOccurred())
			Expect(out).To(ContainSubstring(tc.want))
		}, SpecTimeout(30*time.Second))
	}
})

var _ = Describe("a generated ring", Ordered, Label("tier:e2e", "runtime:netns", "layer:unicast", "layer:eth-dix", "feature:gen"), func() {
	lab := labName("gring")
	BeforeAll(func(ctx SpecContext) {
		requireRoot()
		f := filepath.Join(GinkgoT().TempDir(), "ring.yaml")
		Expect(os.WriteFile(f, []byte(mustOTB(ctx, "gen", "ring", "10", "--name", lab)), 0o644)).To(Succeed())
		deployLab(ctx, f, lab)
		serveOping(ctx, lab, "n6", "oping") // the node farthest from n1 serves it
	}, NodeTimeout(2*time.Minute))

	It("reaches the far side from every other node on the first try", func(ctx SpecContext) {
		for i := 1; i <= 10; i++ {
			if i == 6 {
				continue
			}
			out := on(ctx, lab, fmt.Sprintf("n%d", i), binDir+"/oping", "-n", "oping", "-c", "3", "-i", "10ms")
			Expect(out).To(ContainSubstring("3 packets transmitted, 3 received"), "from n%d", i)
		}
	}, SpecTimeout(time.Minute))
})
