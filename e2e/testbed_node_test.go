//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	"github.com/onsi/gomega/gexec"
)

// nodeState is what otb inspect -o json says of a node.
type nodeState struct {
	Name    string `json:"name"`
	PID     int    `json:"pid"`
	Up      bool   `json:"up"`
	Stopped bool   `json:"stopped"`
}

func nodeOf(ctx context.Context, lab, node string) nodeState {
	var r struct {
		Nodes []nodeState `json:"nodes"`
	}
	Expect(json.Unmarshal([]byte(mustOTB(ctx, "inspect", lab, "-o", "json")), &r)).To(Succeed())
	for _, n := range r.Nodes {
		if n.Name == node {
			return n
		}
	}
	Fail("otb inspect shows no node " + node)
	return nodeState{}
}

// memberOf is a member's status in a layer.
func memberOf(l inspectLayer, node string) ipcpStatus {
	for _, st := range l.Status {
		if st.Node == node {
			return st
		}
	}
	Fail("layer " + l.Name + " has no member " + node)
	return ipcpStatus{}
}

// expectBack checks that a restarted member of the ring's layer is
// enrolled with a new address, both its adjacencies (management and data
// transfer to each ring neighbour) up, and routes to every member, and
// that every member routes to it.
func expectBack(ctx context.Context, lab, node, oldAddr string) {
	l := expectEnrolled(ctx, lab, "net", "a", "b", "c", "d")
	st := memberOf(l, node)
	Expect(st.Addr).NotTo(Equal(oldAddr), "%s has a new address", st.IPCP)
	peers := map[string]int{}
	for _, nb := range st.Neighbours {
		Expect(nb.Up).To(BeTrue(), "%s: adjacency %+v", st.IPCP, nb)
		peers[nb.Addr]++
	}
	Expect(peers).To(HaveLen(2), "%s: two ring neighbours", st.IPCP)
	for a, n := range peers {
		Expect(n).To(Equal(2), "%s: mgmt and dt to %s", st.IPCP, a)
	}
	// Routes to its old address may linger until its link-state entries
	// age out: look for routes to and from the members as they are.
	for _, m := range l.Status {
		if m.Node != node {
			Expect(nextHop(l, node, m.Node)).NotTo(BeEmpty(), "%s routes to %s", st.IPCP, m.IPCP)
			Expect(nextHop(l, m.Node, node)).NotTo(BeEmpty(), "%s routes to %s", m.IPCP, st.IPCP)
		}
	}
}

var _ = Describe("restarting a node", Ordered, Label("tier:e2e", "runtime:netns", "layer:unicast", "layer:eth-dix", "feature:node-restart"), func() {
	lab := labName("noder")
	BeforeAll(func(ctx SpecContext) {
		deployLab(ctx, "../topologies/ring.yaml", lab)
		serveOping(ctx, lab, "b", "oping")
	}, NodeTimeout(time.Minute))

	// pingB allocates a new flow from a node to b's oping and expects
	// every reply. The directory (the layer's DHT) keeps the addresses of
	// the onodes that are gone as contacts and a lookup may ask those
	// first, and a lookup that found nothing is cached for a minute: the
	// allocation is tried again until then.
	pingB := func(ctx context.Context, from string) {
		Eventually(func() string {
			out, _ := otb(ctx, "exec", "--lab", lab, from, "--", binDir+"/oping", "-n", "oping", "-c", "20", "-i", "0")
			return out
		}).WithContext(ctx).WithTimeout(75*time.Second).WithPolling(5*time.Second).
			Should(ContainSubstring("20 packets transmitted, 20 received"), "from %s", from)
	}

	It("keeps a flow across the ring going while the middle node on its path restarts, and takes the node back into the layer", func(ctx SpecContext) {
		// d reaches b through a or c: whichever it is, that node restarts.
		l := layerStatus(ctx, lab, "net")
		hop := nextHop(l, "d", "b")
		mid := ""
		for _, st := range l.Status {
			if st.Addr == hop {
				mid = st.Node
			}
		}
		Expect(mid).To(Or(Equal("a"), Equal("c")), "d reaches b through a or c")
		old := memberOf(l, mid).Addr
		pid := nodeOf(ctx, lab, mid).PID
		// oping gives up after its interval plus 2 s without a reply; the
		// ring's link-state timers route round the stopped node within
		// that, as they do round a link down.
		cli := serve(lab, "d", binDir+"/oping", "-n", "oping", "-i", "3s", "-c", "8")
		Eventually(cli, 20*time.Second).Should(gbytes.Say(`seq=1 `))
		out := mustOTB(ctx, "node", "restart", mid, "--lab", lab)
		Expect(out).To(ContainSubstring("node " + mid + ": onode (pid "))
		Expect(out).To(ContainSubstring("stopped (SIGTERM"))
		Expect(out).To(ContainSubstring("flows are gone"))
		Expect(out).To(MatchRegexp(`net\.` + mid + ` +enrolled via net\.[abcd], connected to net\.[abcd], net\.[abcd]`))
		Expect(out).To(ContainSubstring("every layer converged again"))
		Expect(out).To(ContainSubstring("node " + mid + " up in"))
		n := nodeOf(ctx, lab, mid)
		Expect(n.Up).To(BeTrue())
		Expect(n.PID).NotTo(Equal(pid), "a new onode")
		expectBack(ctx, lab, mid, old)
		Eventually(cli, 40*time.Second).Should(gexec.Exit())
		Expect(string(cli.Out.Contents())).To(ContainSubstring("seq=7 "), "the flow went on to its last ping")
		pingB(ctx, "d") // a new flow
	}, SpecTimeout(3*time.Minute))

	It("kills the bootstrapper, which enrolls again through a neighbour since the layer lives on", func(ctx SpecContext) {
		Expect(layerStatus(ctx, lab, "net").Members[0]).To(Equal("a"), "a bootstrapped net")
		old := memberOf(layerStatus(ctx, lab, "net"), "a").Addr
		out := mustOTB(ctx, "node", "restart", "a", "--kill", "--lab", lab)
		Expect(out).To(ContainSubstring("stopped (SIGKILL"))
		Expect(out).To(MatchRegexp(`net\.a +enrolled via net\.[bd], connected to net\.b, net\.d`))
		Expect(out).NotTo(ContainSubstring("bootstrapped"))
		expectBack(ctx, lab, "a", old)
		Expect(mustOTB(ctx, "wait", lab, "--timeout", "10s")).To(ContainSubstring("lab " + lab + " ready"))
		pingB(ctx, "d")
	}, SpecTimeout(3*time.Minute))

	It("stops a node: inspect shows it stopped and the lab not ready, and start brings it back", func(ctx SpecContext) {
		old := memberOf(layerStatus(ctx, lab, "net"), "c").Addr
		mustOTB(ctx, "node", "stop", "c", "--lab", lab)
		n := nodeOf(ctx, lab, "c")
		Expect(n.Stopped).To(BeTrue())
		Expect(n.Up).To(BeFalse())
		Expect(mustOTB(ctx, "inspect", lab)).To(MatchRegexp(`(?m)^c +node +\S+ +stopped`))
		out, err := otb(ctx, "wait", lab, "--timeout", "2s")
		Expect(err).To(HaveOccurred())
		Expect(out).To(ContainSubstring("node c is stopped (otb node start c)"))
		Expect(mustOTB(ctx, "node", "stop", "c", "--lab", lab)).To(ContainSubstring("node c is stopped already; nothing to do"))
		out = mustOTB(ctx, "node", "start", "c", "--lab", lab)
		Expect(out).To(MatchRegexp(`net\.c +enrolled via net\.[bd], connected to net\.b, net\.d`))
		Expect(nodeOf(ctx, lab, "c").Stopped).To(BeFalse())
		expectBack(ctx, lab, "c", old)
		Expect(mustOTB(ctx, "node", "start", "c", "--lab", lab)).To(ContainSubstring("node c runs already"))
		pingB(ctx, "d")
	}, SpecTimeout(3*time.Minute))

	It("refuses an unknown node, and a lab that is not deployed", func(ctx SpecContext) {
		out, err := otb(ctx, "node", "restart", "zz", "--lab", lab)
		Expect(err).To(HaveOccurred())
		Expect(out).To(ContainSubstring("lab " + lab + ` has no node "zz" (nodes: a, b, c, d)`))
		out, err = otb(ctx, "node", "stop", "a", "--lab", "nosuch"+runTag)
		Expect(err).To(HaveOccurred())
		Expect(out).To(ContainSubstring("no lab nosuch" + runTag + " is deployed"))
	}, SpecTimeout(30*time.Second))

	It("leaves a stopped node to destroy, which removes everything", func(ctx SpecContext) {
		pid := nodeOf(ctx, lab, "d").PID
		out := mustOTB(ctx, "node", "stop", "d", "--kill", "--lab", lab)
		Expect(out).To(ContainSubstring("node d: onode (pid "))
		Expect(nodeOf(ctx, lab, "d").Stopped).To(BeTrue())
		Expect(strings.Join(leftovers(lab), "\n")).NotTo(ContainSubstring(fmt.Sprintf("process %d:", pid)), "d's onode is gone")
		// The lab's DeferCleanup destroys it and finds nothing left.
	}, SpecTimeout(30*time.Second))
})
