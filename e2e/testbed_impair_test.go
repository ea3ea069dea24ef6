//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	"github.com/google/nftables"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// nftTables lists the nftables tables of a lab (named o7s-<lab>) in the
// host's namespace and in every named namespace.
func nftTables(lab string) []string {
	var l []string
	name := "o7s-" + lab
	look := func(where string, opts ...nftables.ConnOption) {
		c, err := nftables.New(opts...)
		if err != nil {
			return
		}
		ts, err := c.ListTablesOfFamily(nftables.TableFamilyUnspecified)
		if err != nil {
			return
		}
		for _, t := range ts {
			if t.Name == name {
				l = append(l, "nftables table "+name+" in "+where)
			}
		}
	}
	look("the host's namespace")
	ents, _ := os.ReadDir("/run/netns")
	for _, e := range ents {
		f, err := os.Open(filepath.Join("/run/netns", e.Name()))
		if err != nil {
			continue
		}
		look("namespace "+e.Name(), nftables.WithNetNSFd(int(f.Fd())))
		f.Close()
	}
	return l
}

// The parts of otb link show -o json (and inspect's links) these specs read.
type (
	linkReport struct {
		ID         string      `json:"id"`
		Directions []dirReport `json:"directions"`
		Error      string      `json:"error"`
	}
	dirReport struct {
		Dir    string `json:"dir"`
		Impair struct {
			Loss      string `json:"loss"`
			Duplicate string `json:"duplicate"`
			Rate      string `json:"rate"`
		} `json:"impair"`
		Counters *struct {
			Passed     uint64 `json:"passed"`
			Dropped    uint64 `json:"dropped"`
			Duplicated uint64 `json:"duplicated"`
			QueueDrops uint64 `json:"queue_drops"`
		} `json:"counters"`
	}
)

// linkDirs is what otb link show -o json says about each way across a
// lab's only link, by direction ("a->b").
func linkDirs(ctx context.Context, lab string) map[string]dirReport {
	var rs []linkReport
	Expect(json.Unmarshal([]byte(mustOTB(ctx, "link", "show", "--lab", lab, "-o", "json")), &rs)).To(Succeed())
	Expect(rs).To(HaveLen(1))
	Expect(rs[0].Error).To(BeEmpty())
	m := map[string]dirReport{}
	for _, d := range rs[0].Directions {
		m[d.Dir] = d
	}
	Expect(m).To(HaveLen(2))
	return m
}

// pingOver runs oping from a to b's oping until its flow is allocated,
// and returns its output. The eth-dix shim does not send a flow
// allocation again when the link loses it (nor does the reference's), so
// over a lossy link the allocation fails now and then; what is measured
// here is what happens on a flow once it is there.
func pingOver(ctx context.Context, lab string, args ...string) string {
	var out string
	argv := append([]string{"exec", "--lab", lab, "a", "--", binDir + "/oping", "-n", "oping"}, args...)
	Eventually(func() string {
		out, _ = otb(ctx, argv...)
		return out
	}).WithContext(ctx).WithTimeout(2*time.Minute).WithPolling(100*time.Millisecond).Should(
		MatchRegexp(`\d+ packets transmitted`), "the flow was never allocated")
	return out
}

var lossRe = regexp.MustCompile(`(\d+)% packet loss`)

// lossOf is the loss oping reports, in percent.
func lossOf(out string) int {
	m := lossRe.FindStringSubmatch(out)
	Expect(m).NotTo(BeNil(), "no packet loss in oping's output:\n%s", out)
	n, _ := strconv.Atoi(m[1])
	return n
}

var _ = Describe("an impaired link", Ordered, Label("tier:e2e", "runtime:netns", "layer:eth-dix", "feature:impair"), func() {
	lab := labName("impair")
	const link = "a:e1--b:e1"
	BeforeAll(func(ctx SpecContext) {
		// destroy, in deployLab's cleanup, runs with an impairment set (the
		// last specs leave one) and must leave no nftables table behind.
		deployLab(ctx, "../topologies/impair.yaml", lab)
		serveOping(ctx, lab, "b", "oping")
	}, NodeTimeout(time.Minute))

	It("has the file's rate each way, in link show, in inspect and in a table in each namespace", func(ctx SpecContext) {
		out := mustOTB(ctx, "link", "show", "--lab", lab)
		Expect(out).To(MatchRegexp(`a:e1--b:e1 +a->b +rate 100mbit +\d+`))
		Expect(out).To(MatchRegexp(`\n +b->a +rate 50mbit +\d+`))
		var r struct{ Links []linkReport }
		Expect(json.Unmarshal([]byte(mustOTB(ctx, "inspect", lab, "-o", "json")), &r)).To(Succeed())
		Expect(r.Links).To(HaveLen(1))
		Expect(r.Links[0].Directions).To(HaveLen(2))
		Expect(r.Links[0].Directions[0].Impair.Rate).To(Equal("100mbit"))
		Expect(r.Links[0].Directions[1].Impair.Rate).To(Equal("50mbit"))
		Expect(mustOTB(ctx, "inspect", lab)).To(MatchRegexp(`a:e1--b:e1 +veth +a->b rate 100mbit; b->a rate 50mbit`))
		Expect(nftTables(lab)).To(HaveLen(2), "one table in each node's namespace")
	}, SpecTimeout(30*time.Second))

	It("loses about 20% of a raw flow's pings with 20% loss on what a sends", func(ctx SpecContext) {
		out := mustOTB(ctx, "link", "set", link, "--from", "a", "--loss", "20%", "--lab", lab)
		Expect(out).To(ContainSubstring("link a:e1--b:e1 a->b: loss 20%, rate 100mbit"))
		// Each lost request is a lost ping; replies cross unharmed.
		out = pingOver(ctx, lab, "-c", "500", "-i", "0")
		Expect(out).To(ContainSubstring("500 packets transmitted"))
		loss := lossOf(out)
		Expect(loss).To(BeNumerically(">=", 10), out)
		Expect(loss).To(BeNumerically("<=", 30), out)
		ab := linkDirs(ctx, lab)["a->b"]
		Expect(ab.Impair.Loss).To(Equal("20%"))
		c := ab.Counters
		Expect(c).NotTo(BeNil())
		Expect(c.Passed + c.Dropped).To(BeNumerically(">=", 500))
		share := float64(c.Dropped) / float64(c.Passed+c.Dropped)
		Expect(share).To(BeNumerically("~", 0.2, 0.1), "a->b dropped %d of %d", c.Dropped, c.Passed+c.Dropped)
		GinkgoWriter.Printf("raw, 20%% loss a->b: oping %d%% loss; the link dropped %d of %d (%.1f%%)\n",
			loss, c.Dropped, c.Passed+c.Dropped, 100*share)
	}, SpecTimeout(4*time.Minute))

	It("loses nothing once cleared, and leaves no table", func(ctx SpecContext) {
		mustOTB(ctx, "link", "set", link, "--clear", "--lab", lab)
		out := on(ctx, lab, "a", binDir+"/oping", "-n", "oping", "-c", "500", "-i", "0")
		Expect(out).To(ContainSubstring("500 packets transmitted, 500 received"))
		Expect(out).To(ContainSubstring(" 0% packet loss"))
		for dir, d := range linkDirs(ctx, lab) {
			Expect(d.Impair.Loss+d.Impair.Duplicate+d.Impair.Rate).To(BeEmpty(), dir)
			Expect(d.Counters).To(BeNil(), dir)
		}
		Expect(mustOTB(ctx, "inspect", lab)).To(MatchRegexp(`a:e1--b:e1 +veth +none`))
		Expect(nftTables(lab)).To(BeEmpty())
	}, SpecTimeout(time.Minute))

	It("sends about half of what a sends twice with 50% duplication", func(ctx SpecContext) {
		mustOTB(ctx, "link", "set", link, "--from", "a", "--duplicate", "50%", "--lab", lab)
		// oping counts the replies to both copies of a request, so it stops
		// after some 130 requests.
		on(ctx, lab, "a", binDir+"/oping", "-n", "oping", "-c", "200", "-i", "1ms")
		c := linkDirs(ctx, lab)["a->b"].Counters
		Expect(c).NotTo(BeNil())
		sent := c.Passed - c.Duplicated // b receives every frame a sends and every copy
		Expect(sent).To(BeNumerically(">=", 100))
		Expect(float64(c.Duplicated)/float64(sent)).To(BeNumerically("~", 0.5, 0.15), "%d copies of %d frames", c.Duplicated, sent)
		Expect(c.Dropped).To(BeZero())
		GinkgoWriter.Printf("50%% duplication a->b: %d copies of %d frames\n", c.Duplicated, sent)
	}, SpecTimeout(time.Minute))

	It("delivers every ping of a reliable flow (FRCT, qos data) with 20% loss each way", Label("feature:frct"), func(ctx SpecContext) {
		mustOTB(ctx, "link", "set", link, "--clear", "--loss", "20%", "--lab", lab)
		out := pingOver(ctx, lab, "-c", "500", "-i", "0", "-q", "data")
		dirs := linkDirs(ctx, lab)
		for dir, d := range dirs {
			Expect(d.Counters).NotTo(BeNil(), dir)
			Expect(d.Counters.Dropped).NotTo(BeZero(), "%s lost nothing: the flow did not cross a lossy link", dir)
		}
		GinkgoWriter.Printf("data, 20%% loss each way: the link dropped %d (a->b) and %d (b->a) frames\n",
			dirs["a->b"].Counters.Dropped, dirs["b->a"].Counters.Dropped)
		Expect(out).To(ContainSubstring("500 packets transmitted, 500 received"))
		Expect(out).To(ContainSubstring(" 0% packet loss"))
	}, SpecTimeout(5*time.Minute)) // a failed allocation takes 20 s; closing a reliable flow lingers up to 120 s

	It("refuses a knob that needs a relay on a link deployed without one, and changes nothing", func(ctx SpecContext) {
		before := linkDirs(ctx, lab)
		out, err := otb(ctx, "link", "set", link, "--delay", "5ms", "--lab", lab)
		Expect(err).To(HaveOccurred())
		Expect(out).To(ContainSubstring("link a:e1--b:e1 has no impairment relay, and delay needs one"))
		Expect(out).To(ContainSubstring("netem"))
		after := linkDirs(ctx, lab)
		for dir := range before {
			Expect(after[dir].Impair).To(Equal(before[dir].Impair), dir)
		}
	}, SpecTimeout(30*time.Second))
})

var _ = Describe("a topology file asking for delay and reorder", Label("tier:robustness", "runtime:netns", "feature:impair"), func() {
	It("plans the link through an impairment relay (they have no backend in this kernel)", func(ctx SpecContext) {
		lab := labName("nodelay")
		f := filepath.Join(GinkgoT().TempDir(), "delay.yaml")
		src := "name: " + lab + "\nnodes: {a: {}, b: {}}\nlinks:\n  - endpoints: [a:e1, b:e1]\n    impair: {loss: 1%, a->b: {delay: 5ms}, reorder: 1%}\n"
		Expect(os.WriteFile(f, []byte(src), 0o644)).To(Succeed())
		out := mustOTB(ctx, "deploy", f, "--dry-run")
		Expect(out).To(ContainSubstring("impair a->b loss 1%, delay 5ms, reorder 1%; b->a loss 1%, reorder 1% (through an impairment relay)"))
		Expect(leftovers(lab)).To(BeEmpty())
	}, SpecTimeout(30*time.Second))
})
