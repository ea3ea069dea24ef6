//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// Reconcile: otb deploy of a changed file on a running lab applies the
// difference only.
var _ = Describe("deploying a changed file on a running lab", Ordered, Label("tier:e2e", "runtime:netns", "layer:unicast", "layer:eth-dix", "feature:reconcile"), func() {
	lab := labName("recon")
	var orig, grown string
	BeforeAll(func(ctx SpecContext) {
		b, err := os.ReadFile("../topologies/default.yaml")
		Expect(err).NotTo(HaveOccurred())
		dir := GinkgoT().TempDir()
		orig = filepath.Join(dir, "default.yaml")
		Expect(os.WriteFile(orig, b, 0o644)).To(Succeed())
		// e joins d over a new link (a rate limit: no loss, since a flow
		// request lost on the way is not sent again and a deploy step
		// would wait out its timeout) and the layer net; a-b gets a rate
		// limit.
		s := string(b)
		for _, r := range [][2]string{
			{"  - endpoints: [c:e1, d:e1]\n", "  - endpoints: [c:e1, d:e1]\n  - endpoints: [d:e2, e:e1]\n    impair: {rate: 50mbit}\n"},
			{"  d:\n", "  e:\n    names: {oping-e: [net]}\n  d:\n"},
			{"lower: {a: [eth-ab], b: [eth-ab, udp-bc], c: [udp-bc, llc-cd], d: [llc-cd]}", "lower: {a: [eth-ab], b: [eth-ab, udp-bc], c: [udp-bc, llc-cd], d: [llc-cd, dix-d-e], e: [dix-d-e]}"},
			{"members: [a, b, c, d]", "members: [a, b, c, d, e]"},
			{"  - endpoints: [a:e1, b:e1]\n", "  - endpoints: [a:e1, b:e1]\n    impair: {rate: 100mbit}\n"},
		} {
			Expect(s).To(ContainSubstring(r[0]))
			s = strings.Replace(s, r[0], r[1], 1)
		}
		grown = filepath.Join(dir, "grown.yaml")
		Expect(os.WriteFile(grown, []byte(s), 0o644)).To(Succeed())
		deployLab(ctx, orig, lab)
		serveOping(ctx, lab, "d", "oping")
	}, NodeTimeout(time.Minute))

	It("says a deploy of the same file changes nothing", func(ctx SpecContext) {
		Expect(mustOTB(ctx, "deploy", orig, "--lab", lab, "--dry-run")).To(ContainSubstring("lab " + lab + " is up and as the file says; a deploy would change nothing"))
		Expect(mustOTB(ctx, "deploy", orig, "--lab", lab)).To(ContainSubstring("lab " + lab + " is up already; nothing to do"))
	}, SpecTimeout(30*time.Second))

	It("adds a node, a link, a member and a name, and changes an impairment, leaving the rest running", func(ctx SpecContext) {
		pids := map[string]int{}
		for _, n := range []string{"a", "b", "c", "d"} {
			pids[n] = nodeOf(ctx, lab, n).PID
		}
		addr := memberOf(layerStatus(ctx, lab, "net"), "b").Addr
		dry := mustOTB(ctx, "deploy", grown, "--lab", lab, "--dry-run")
		Expect(dry).To(MatchRegexp(`nodes added +e\n`))
		Expect(dry).To(MatchRegexp(`layers grown +net\n`))
		Expect(dry).To(ContainSubstring("step  e   enroll net.e via net.d"))
		Expect(dry).NotTo(ContainSubstring("destroy IPCP"))
		out := mustOTB(ctx, "deploy", grown, "--lab", lab)
		Expect(out).To(ContainSubstring("link       d:e2--e:e1 added"))
		Expect(out).To(ContainSubstring("net.e      enrolled via net.d"))
		Expect(out).To(ContainSubstring("lab " + lab + " changed in"))
		for n, pid := range pids {
			Expect(nodeOf(ctx, lab, n).PID).To(Equal(pid), "%s's onode was left running", n)
		}
		Expect(memberOf(layerStatus(ctx, lab, "net"), "b").Addr).To(Equal(addr), "net.b was not touched")
		links := mustOTB(ctx, "link", "show", "--lab", lab)
		Expect(links).To(MatchRegexp(`a:e1--b:e1 .*rate 100mbit`))
		Expect(links).To(MatchRegexp(`d:e2--e:e1 .*rate 50mbit`))
		serveOping(ctx, lab, "e", "oping-e")
		Eventually(func() string {
			out, _ := otb(ctx, "exec", "--lab", lab, "a", "--", binDir+"/oping", "-n", "oping-e", "-c", "10", "-i", "0")
			return out
		}).WithContext(ctx).WithTimeout(30 * time.Second).Should(ContainSubstring("10 packets transmitted, 10 received"))
		Expect(on(ctx, lab, "a", binDir+"/oping", "-n", "oping", "-c", "10", "-i", "0")).To(ContainSubstring("10 received"))
	}, SpecTimeout(2*time.Minute))

	It("refuses a change it cannot make in place and leaves the lab as it was", func(ctx SpecContext) {
		b, err := os.ReadFile(grown)
		Expect(err).NotTo(HaveOccurred())
		bad := filepath.Join(filepath.Dir(grown), "bad.yaml")
		Expect(os.WriteFile(bad, []byte(strings.Replace(string(b), "impair: {rate: 50mbit}", "impair: {rate: 50mbit, delay: 5ms}", 1)), 0o644)).To(Succeed())
		out, err := otb(ctx, "deploy", bad, "--lab", lab)
		Expect(err).To(HaveOccurred())
		Expect(out).To(ContainSubstring("link d:e2--e:e1 would need an impairment relay now, or no longer"))
		Expect(mustOTB(ctx, "deploy", grown, "--lab", lab, "--dry-run")).To(ContainSubstring("a deploy would change nothing"))
	}, SpecTimeout(30*time.Second))

	It("takes the node out again with the original file", func(ctx SpecContext) {
		out := mustOTB(ctx, "deploy", orig, "--lab", lab)
		Expect(out).To(MatchRegexp(`nodes removed +e\n`))
		Expect(out).To(ContainSubstring("e          removed"))
		_, err := os.Stat("/run/netns/o7s-" + lab + "-e")
		Expect(os.IsNotExist(err)).To(BeTrue(), "e's namespace is gone")
		Expect(mustOTB(ctx, "link", "show", "--lab", lab)).NotTo(ContainSubstring("rate"))
		Eventually(func() string {
			out, _ := otb(ctx, "exec", "--lab", lab, "a", "--", binDir+"/oping", "-n", "oping", "-c", "10", "-i", "0")
			return out
		}).WithContext(ctx).WithTimeout(30 * time.Second).Should(ContainSubstring("10 received"))
	}, SpecTimeout(2*time.Minute))
})
