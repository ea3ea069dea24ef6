//go:build e2e

package e2e

import (
	"context"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	"github.com/onsi/gomega/gexec"
)

var _ = Describe("one system", Label("tier:smoke", "layer:local"), func() {
	It("pings 1000 times through the local IPCP with no loss", func(ctx SpecContext) {
		n := startNode("--no-direct")
		n.irm(ctx, "ipcp", "bootstrap", "type", "local", "name", "lo", "layer", "local")
		n.irm(ctx, "bind", "program", binDir+"/oping", "name", "oping")
		n.irm(ctx, "name", "register", "oping", "layer", "local")
		srv := n.start("oping", "--listen")
		Eventually(srv).Should(gbytes.Say("Ouroboros ping server started."))
		out := n.run(ctx, "oping", "-n", "oping", "-c", "1000", "-i", "0")
		Expect(out).To(ContainSubstring("1000 packets transmitted, 1000 received"))
		Expect(out).To(ContainSubstring(" 0% packet loss"))
		Expect(out).To(MatchRegexp(`rtt p50/p99 = [0-9.]+/[0-9.]+ (µs|ms)`))
		Eventually(srv).Should(gbytes.Say("New flow 64.")) // the server prints it in its own time
		Eventually(func() []string { return n.flows(ctx) }).Should(BeEmpty())
	}, SpecTimeout(time.Minute))

	It("measures with operf through the local IPCP", func(ctx SpecContext) {
		n := startNode("--no-direct")
		n.irm(ctx, "ipcp", "bootstrap", "type", "local", "name", "lo", "layer", "local")
		n.irm(ctx, "bind", "program", binDir+"/operf", "name", "operf")
		n.irm(ctx, "name", "register", "operf", "layer", "local")
		srv := n.start("operf", "--listen")
		Eventually(srv).Should(gbytes.Say("Ouroboros perf server started."))
		out := n.run(ctx, "operf", "-n", "operf", "-d", "1s", "-s", "1400", "-t", "bi", "-f")
		Expect(out).To(MatchRegexp(`(\d+) packets transmitted, (\d+) received, \d+% packet loss`))
		Eventually(func() []string { return n.flows(ctx) }).Should(BeEmpty())
	}, SpecTimeout(time.Minute))

	It("connects two applications directly with no IPCP", func(ctx SpecContext) {
		n := startNode()
		n.irm(ctx, "bind", "program", binDir+"/oping", "name", "oping")
		srv := n.start("oping", "--listen")
		Eventually(srv).Should(gbytes.Say("server started"))
		out := n.run(ctx, "oping", "-n", "oping", "-c", "100", "-i", "0")
		Expect(out).To(ContainSubstring("100 packets transmitted, 100 received"))
		Expect(n.irm(ctx, "ipcp", "list")).To(ContainSubstring("No IPCPs in system."))
	}, SpecTimeout(time.Minute))

	It("starts a bound program when a request finds nobody accepting", func(ctx SpecContext) {
		n := startNode()
		n.irm(ctx, "bind", "program", binDir+"/oping", "name", "oping", "auto", "--", "--listen")
		out := n.run(ctx, "oping", "-n", "oping", "-c", "3", "-i", "10ms")
		Expect(out).To(ContainSubstring("3 packets transmitted, 3 received"))
		Expect(n.sess.Err).To(gbytes.Say("program auto-started"))
	}, SpecTimeout(time.Minute))

	It("tells the client when the server dies mid-flow and empties the flow table", func(ctx SpecContext) {
		for _, direct := range []bool{true, false} {
			By(map[bool]string{true: "over a direct flow", false: "through the local IPCP"}[direct])
			var n *node
			if direct {
				n = startNode()
			} else {
				n = startNode("--no-direct")
				n.irm(ctx, "ipcp", "bootstrap", "type", "local", "name", "lo", "layer", "local")
			}
			n.irm(ctx, "bind", "program", binDir+"/oping", "name", "oping")
			if !direct {
				n.irm(ctx, "name", "register", "oping", "layer", "local")
			}
			srv := n.start("oping", "--listen")
			Eventually(srv).Should(gbytes.Say("server started"))
			cli := n.start("oping", "-n", "oping", "-i", "10ms")
			Eventually(cli).Should(gbytes.Say("seq=5 "))
			srv.Signal(syscall.SIGKILL)
			Eventually(cli, 5*time.Second).Should(gexec.Exit())
			Expect(cli.ExitCode()).NotTo(Equal(0))
			Eventually(func() []string { return n.flows(ctx) }, 5*time.Second).Should(BeEmpty())
		}
	}, SpecTimeout(time.Minute))

	It("runs two nodes side by side without interference", func(ctx SpecContext) {
		a, b := startNode(), startNode()
		a.irm(ctx, "ipcp", "bootstrap", "type", "local", "name", "lo", "layer", "local")
		Expect(a.irm(ctx, "ipcp", "list")).To(ContainSubstring("lo"))
		Expect(b.irm(ctx, "ipcp", "list")).To(ContainSubstring("No IPCPs in system."))
		a.irm(ctx, "bind", "program", binDir+"/oping", "name", "oping")
		srv := a.start("oping", "--listen")
		Eventually(srv).Should(gbytes.Say("server started"))
		cli := b.cmd("oping", "-n", "oping", "-c", "1")
		out, err := cli.CombinedOutput()
		Expect(err).To(HaveOccurred(), "a name served on node a must not be reachable from node b:\n%s", out)
		Expect(a.run(ctx, "oping", "-n", "oping", "-c", "2")).To(ContainSubstring("2 received"))
	}, SpecTimeout(time.Minute))

	It("refuses a second onode on a socket in use", func(ctx SpecContext) {
		a := startNode()
		c := a.cmd("onode", "--sock", a.sock)
		out, err := c.CombinedOutput()
		Expect(err).To(HaveOccurred())
		Expect(string(out)).To(ContainSubstring("a node is already running on " + a.sock))
		Expect(a.irm(context.Background(), "name", "list")).To(ContainSubstring("No names in system."))
	}, SpecTimeout(30*time.Second))
})
