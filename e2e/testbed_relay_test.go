//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"golang.org/x/sys/unix"
)

// relayTopo is two nodes joined by three links, each through an
// impairment relay: one with delay and jitter, one that reorders, one that
// corrupts, each with an eth-dix layer of its own in which b registers a
// name for oping.
const relayTopo = `name: %s
nodes:
  a: {}
  b:
    names: {oping-d: [eth-d], oping-r: [eth-r], oping-c: [eth-c]}
links:
  - endpoints: [a:e1, b:e1]
    impair: {delay: 20ms, jitter: 5ms}
  - endpoints: [a:e2, b:e2]
    impair: {reorder: 25%, seed: 7}
  - endpoints: [a:e3, b:e3]
    impair: {corrupt: 5%}
layers:
  eth-d: {type: eth-dix, link: "a:e1--b:e1"}
  eth-r: {type: eth-dix, link: "a:e2--b:e2"}
  eth-c: {type: eth-dix, link: "a:e3--b:e3"}
`

// The parts of otb link show -o json about a relayed link these specs read.
type relayLinkReport struct {
	ID    string `json:"id"`
	Relay *struct {
		NS      string `json:"netns"`
		PID     int    `json:"pid"`
		Ceiling string `json:"ceiling"`
	} `json:"relay"`
	Directions []struct {
		Dir    string `json:"dir"`
		Impair struct {
			Delay   time.Duration `json:"delay"` // in ns, as topo.Impairment marshals it
			Jitter  time.Duration `json:"jitter"`
			Reorder string        `json:"reorder"`
			Corrupt string        `json:"corrupt"`
		} `json:"impair"`
		Counters *struct {
			Passed    uint64 `json:"passed"`
			Delayed   uint64 `json:"delayed"`
			Reordered uint64 `json:"reordered"`
			Corrupted uint64 `json:"corrupted"`
		} `json:"counters"`
	} `json:"directions"`
	Error string `json:"error"`
}

// relayLink is what otb link show -o json says about one link of a lab
// (read with the others: a link that cannot be read carries its error).
func relayLink(ctx context.Context, lab, link string) relayLinkReport {
	var rs []relayLinkReport
	Expect(json.Unmarshal([]byte(mustOTB(ctx, "link", "show", "--lab", lab, "-o", "json")), &rs)).To(Succeed())
	for _, r := range rs {
		if r.ID == link {
			return r
		}
	}
	Fail("no link " + link + " in otb link show")
	return relayLinkReport{}
}

var p50Re = regexp.MustCompile(`rtt p50/p99 = ([0-9.]+)/([0-9.]+) (ms|µs)`)

// p50 is the median RTT oping reports, in ms.
func p50(out string) float64 {
	m := p50Re.FindStringSubmatch(out)
	Expect(m).NotTo(BeNil(), "no rtt p50 in oping's output:\n%s", out)
	v, _ := strconv.ParseFloat(m[1], 64)
	if m[3] == "µs" {
		v /= 1000
	}
	return v
}

// pingEnv runs oping on a with extra environment until its flow is
// allocated, and returns its output.
func pingEnv(ctx context.Context, lab string, env []string, args ...string) string {
	var out string
	argv := append([]string{"exec", "--lab", lab, "a", "--", binDir + "/oping"}, args...)
	Eventually(func() string {
		c := exec.CommandContext(ctx, filepath.Join(binDir, "otb"), argv...)
		c.Env = append(os.Environ(), env...)
		b, _ := c.CombinedOutput()
		out = string(b)
		GinkgoWriter.Printf("$ %s otb %s\n%s", strings.Join(env, " "), strings.Join(argv, " "), out)
		return out
	}).WithContext(ctx).WithTimeout(2*time.Minute).WithPolling(100*time.Millisecond).Should(
		MatchRegexp(`\d+ packets transmitted`), "the flow was never allocated")
	return out
}

var _ = Describe("links through an impairment relay", Ordered, Label("tier:e2e", "runtime:netns", "layer:eth-dix", "feature:impair"), func() {
	lab := labName("relay")
	const delayLink, reorderLink, corruptLink = "a:e1--b:e1", "a:e2--b:e2", "a:e3--b:e3"
	BeforeAll(func(ctx SpecContext) {
		f := filepath.Join(GinkgoT().TempDir(), "relay.yaml")
		Expect(os.WriteFile(f, []byte(strings.Replace(relayTopo, "%s", lab, 1)), 0o644)).To(Succeed())
		deployLab(ctx, f, lab)
		on(ctx, lab, "b", binDir+"/irm", "bind", "program", binDir+"/oping", "name", "oping-d")
		on(ctx, lab, "b", binDir+"/irm", "bind", "program", binDir+"/oping", "name", "oping-r")
		serveOping(ctx, lab, "b", "oping-c")
	}, NodeTimeout(time.Minute))

	It("runs a relay in a namespace of its own for each link, and says what it can forward", func(ctx SpecContext) {
		for i, link := range []string{delayLink, reorderLink, corruptLink} {
			r := relayLink(ctx, lab, link)
			Expect(r.Error).To(BeEmpty())
			Expect(r.Relay).NotTo(BeNil())
			Expect(r.Relay.NS).To(Equal("o7s-" + lab + "-relay_" + strconv.Itoa(i+1)))
			Expect(r.Relay.Ceiling).To(ContainSubstring("frames/s"))
			Expect(filepath.Join("/run/netns", r.Relay.NS)).To(BeAnExistingFile())
			Expect(unix.Kill(r.Relay.PID, 0)).To(Succeed())
		}
		out := mustOTB(ctx, "link", "show", "--lab", lab)
		Expect(out).To(MatchRegexp(`a:e1--b:e1 +a->b +delay 20ms, jitter 5ms +\d+`))
		Expect(out).To(ContainSubstring("A relay forwards at most"))
	}, SpecTimeout(30*time.Second))

	It("adds 20 ms ± 5 ms each way: an RTT of about 40 ms", func(ctx SpecContext) {
		// -i 1ms: the pings follow each other closely, but few wait in
		// the stacks (a flood, -i 0, queues some ms in the nodes at any
		// delay).
		out := pingEnv(ctx, lab, nil, "-n", "oping-d", "-c", "200", "-i", "1ms")
		Expect(out).To(ContainSubstring("200 packets transmitted, 200 received"))
		rtt := p50(out)
		GinkgoWriter.Printf("delay 20ms jitter 5ms each way: RTT p50 %.3f ms\n", rtt)
		Expect(rtt).To(BeNumerically(">=", 35), out)
		Expect(rtt).To(BeNumerically("<=", 50), out)
		r := relayLink(ctx, lab, delayLink)
		for _, d := range r.Directions {
			Expect(d.Counters).NotTo(BeNil())
			Expect(d.Counters.Delayed).To(BeNumerically(">=", 200), d.Dir)
		}
	}, SpecTimeout(3*time.Minute))

	It("takes the delay away at run time, and the RTT drops", func(ctx SpecContext) {
		out := mustOTB(ctx, "link", "set", delayLink, "--clear", "--lab", lab)
		Expect(out).To(ContainSubstring("link a:e1--b:e1 a->b: none"))
		out = on(ctx, lab, "a", binDir+"/oping", "-n", "oping-d", "-c", "200", "-i", "1ms")
		Expect(out).To(ContainSubstring("200 packets transmitted, 200 received"))
		rtt := p50(out)
		GinkgoWriter.Printf("cleared: RTT p50 %.3f ms\n", rtt)
		Expect(rtt).To(BeNumerically("<", 15), out)
		mustOTB(ctx, "link", "set", delayLink, "--delay", "10ms", "--from", "a", "--lab", lab)
		rtt = p50(on(ctx, lab, "a", binDir+"/oping", "-n", "oping-d", "-c", "50", "-i", "5ms"))
		GinkgoWriter.Printf("delay 10ms a->b only: RTT p50 %.3f ms\n", rtt)
		Expect(rtt).To(BeNumerically("~", 10.5, 3))
	}, SpecTimeout(time.Minute))

	It("delivers every ping of a reliable flow (FRCT, qos data) over a link that reorders 25%", Label("feature:frct"), func(ctx SpecContext) {
		out := pingEnv(ctx, lab, nil, "-n", "oping-r", "-c", "500", "-i", "0", "-q", "data")
		Expect(out).To(ContainSubstring("500 packets transmitted, 500 received"))
		Expect(out).To(ContainSubstring(" 0% packet loss"))
		r := relayLink(ctx, lab, reorderLink)
		var reordered uint64
		for _, d := range r.Directions {
			Expect(d.Impair.Reorder).To(Equal("25%"))
			reordered += d.Counters.Reordered
		}
		Expect(reordered).To(BeNumerically(">", 100))
		GinkgoWriter.Printf("reorder 25%%: the relay held back %d frames\n", reordered)
	}, SpecTimeout(5*time.Minute))

	It("delivers every ping of a reliable flow with a CRC (OUROBOROS_CRC=1) over a link that corrupts 5%", Label("feature:frct"), func(ctx SpecContext) {
		out := pingEnv(ctx, lab, []string{"OUROBOROS_CRC=1"}, "-n", "oping-c", "-c", "500", "-i", "0", "-q", "data")
		Expect(out).To(ContainSubstring("500 packets transmitted, 500 received"))
		Expect(out).To(ContainSubstring(" 0% packet loss"))
		r := relayLink(ctx, lab, corruptLink)
		var corrupted uint64
		for _, d := range r.Directions {
			corrupted += d.Counters.Corrupted
		}
		Expect(corrupted).To(BeNumerically(">", 10))
		GinkgoWriter.Printf("corrupt 5%%: the relay flipped a bit in %d frames\n", corrupted)
	}, SpecTimeout(5*time.Minute))

	It("says a killed relay is not running; destroy still removes all", func(ctx SpecContext) {
		// deployLab's cleanup destroys the lab and checks that nothing is
		// left: no namespace (the relays' too), no process.
		r := relayLink(ctx, lab, corruptLink)
		Expect(unix.Kill(r.Relay.PID, unix.SIGKILL)).To(Succeed())
		Eventually(func() string { return relayLink(ctx, lab, corruptLink).Error }).WithContext(ctx).
			Should(ContainSubstring("is not running"))
		out, err := otb(ctx, "link", "set", corruptLink, "--corrupt", "1%", "--lab", lab)
		Expect(err).To(HaveOccurred())
		Expect(out).To(ContainSubstring("its relay (pid " + strconv.Itoa(r.Relay.PID)))
	}, SpecTimeout(30*time.Second))
})
