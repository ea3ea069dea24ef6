//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	"github.com/onsi/gomega/gexec"
)

// Faults in the ring: a link that goes silent (a blackhole: carrier up,
// every frame dropped), and a link that flaps.
var _ = Describe("faults in the ring", Ordered, Label("tier:robustness", "runtime:netns", "layer:unicast", "layer:eth-dix", "feature:impair"), func() {
	lab := labName("faults")
	BeforeAll(func(ctx SpecContext) {
		deployLab(ctx, "../topologies/ring.yaml", lab)
		serveOping(ctx, lab, "b", "oping")
	}, NodeTimeout(time.Minute))

	pingAB := func(ctx SpecContext, within time.Duration) {
		Eventually(func() string {
			out, _ := otb(ctx, "exec", "--lab", lab, "a", "--", binDir+"/oping", "-n", "oping", "-c", "10", "-i", "0")
			return out
		}).WithContext(ctx).WithTimeout(within).WithPolling(time.Second).Should(ContainSubstring("10 packets transmitted, 10 received"))
	}

	It("routes round a blackholed link, which keeps its carrier, and back once it is up", func(ctx SpecContext) {
		Expect(nextHop(layerStatus(ctx, lab, "net"), "a", "b")).NotTo(BeEmpty())
		out := mustOTB(ctx, "link", "set", "a:e1--b:e1", "--state", "blackhole", "--lab", lab)
		Expect(out).To(ContainSubstring("the carrier stays up"))
		Expect(mustOTB(ctx, "link", "show", "--lab", lab)).To(ContainSubstring("a:e1--b:e1: blackhole at a:e1, b:e1"))
		// The carrier is up: only the layer's own liveness can tell.
		Expect(on(ctx, lab, "a", "ip", "-o", "link", "show", "e1")).To(ContainSubstring("state UP"))
		pingAB(ctx, 30*time.Second)
		l := layerStatus(ctx, lab, "net")
		d := memberOf(l, "d").Addr
		Expect(nextHop(l, "a", "b")).To(Equal(d), "a reaches b through d while a-b is silent")
		mustOTB(ctx, "link", "set", "a:e1--b:e1", "--state", "up", "--lab", lab)
		Expect(mustOTB(ctx, "link", "show", "--lab", lab)).NotTo(ContainSubstring("blackhole"))
		Eventually(func() string { return nextHop(layerStatus(ctx, lab, "net"), "a", "b") }).WithContext(ctx).
			WithTimeout(30*time.Second).WithPolling(time.Second).Should(Equal(memberOf(l, "b").Addr), "the direct way is back")
		pingAB(ctx, 10*time.Second)
	}, SpecTimeout(2*time.Minute))

	It("converges again after a link flaps five times", func(ctx SpecContext) {
		for range 5 {
			mustOTB(ctx, "link", "set", "a:e1--b:e1", "--state", "down", "--lab", lab)
			time.Sleep(200 * time.Millisecond)
			mustOTB(ctx, "link", "set", "a:e1--b:e1", "--state", "up", "--lab", lab)
			time.Sleep(200 * time.Millisecond)
		}
		Expect(mustOTB(ctx, "wait", lab, "--timeout", "60s")).To(ContainSubstring("lab " + lab + " ready"))
		pingAB(ctx, 30*time.Second)
	}, SpecTimeout(2*time.Minute))
})

// A long round trip (100 ms each way through a relay) and a rate limit.
var _ = Describe("a long, slow link", Ordered, Label("tier:robustness", "runtime:netns", "layer:eth-dix", "feature:impair", "feature:frct"), func() {
	lab := labName("longrt")
	var perfSrv *gexec.Session
	BeforeAll(func(ctx SpecContext) {
		requireRoot()
		f := filepath.Join(GinkgoT().TempDir(), "long.yaml")
		Expect(os.WriteFile(f, []byte(fmt.Sprintf(`name: %s
nodes:
  a: {}
  b:
    names: {oping-l: [eth-l], oping-r: [eth-r], operf-r: [eth-r]}
links:
  - endpoints: [a:e1, b:e1]
    impair: {delay: 100ms}
  - endpoints: [a:e2, b:e2]
    impair: {rate: 10mbit}
layers:
  eth-l: {type: eth-dix, link: "a:e1--b:e1"}
  eth-r: {type: eth-dix, link: "a:e2--b:e2"}
`, lab)), 0o644)).To(Succeed())
		deployLab(ctx, f, lab)
		on(ctx, lab, "b", binDir+"/irm", "bind", "program", binDir+"/oping", "name", "oping-r")
		serveOping(ctx, lab, "b", "oping-l")
		on(ctx, lab, "b", binDir+"/irm", "bind", "program", binDir+"/operf", "name", "operf-r")
		perfSrv = serve(lab, "b", binDir+"/operf", "--listen")
		Eventually(perfSrv).Should(gbytes.Say("server started"))
	}, NodeTimeout(time.Minute))

	It("has a round trip of about 200 ms, and a reliable flow delivers every ping across it", func(ctx SpecContext) {
		// The node asks its layers for a name for 200 ms (as the
		// reference's IRMd does), less than this link's round trip: the
		// first allocation fails, and the eth IPCP's answer, when it comes,
		// fills its directory for the next.
		var out string
		Eventually(func() string {
			out, _ = otb(ctx, "exec", "--lab", lab, "a", "--", binDir+"/oping", "-n", "oping-l", "-c", "5", "-i", "50ms")
			return out
		}).WithContext(ctx).WithTimeout(20 * time.Second).WithPolling(time.Second).Should(ContainSubstring("5 received"))
		m := regexp.MustCompile(`rtt min/avg/max/mdev = ([0-9.]+)/([0-9.]+)/`).FindStringSubmatch(out)
		Expect(m).NotTo(BeNil(), out)
		avg, _ := strconv.ParseFloat(m[2], 64)
		Expect(avg).To(BeNumerically("~", 200, 15), "ms")
		out = on(ctx, lab, "a", binDir+"/oping", "-n", "oping-l", "-q", "data", "-c", "20", "-i", "10ms")
		Expect(out).To(ContainSubstring("20 packets transmitted, 20 received"))
	}, SpecTimeout(time.Minute))

	It("carries at most its rate limit", func(ctx SpecContext) {
		// a offers 30 Mbit/s; the tbf on what a sends passes about 10.
		Eventually(func() error {
			_, err := otb(ctx, "exec", "--lab", lab, "a", "--", binDir+"/oping", "-n", "oping-r", "-c", "1")
			return err
		}).WithContext(ctx).WithTimeout(20 * time.Second).WithPolling(time.Second).Should(Succeed())
		out := on(ctx, lab, "a", binDir+"/operf", "-n", "operf-r", "-s", "1000", "-r", "30M", "-d", "3s")
		Expect(out).To(ContainSubstring("packets transmitted"))
		re := regexp.MustCompile(`=> +[0-9.]+ pps, +([0-9.]+) Mbps`)
		Eventually(perfSrv, 10*time.Second).Should(gbytes.Say(`=> .* Mbps`))
		m := re.FindAllStringSubmatch(string(perfSrv.Out.Contents()), -1)
		Expect(m).NotTo(BeEmpty())
		mbps, _ := strconv.ParseFloat(m[len(m)-1][1], 64)
		Expect(mbps).To(BeNumerically("<=", 10.5), "at most the rate")
		Expect(mbps).To(BeNumerically(">=", 7), "and close to it")
	}, SpecTimeout(time.Minute))
})
