//go:build e2e

package e2e

import (
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// Stories: otb story run deploys a lab of its own for each (--lab), runs
// the steps, checks their expectations and destroys the lab.
var _ = Describe("stories", Label("tier:e2e", "runtime:netns", "layer:unicast", "feature:story"), func() {
	run := func(ctx SpecContext, file, lab string, extra ...string) (string, error) {
		requireRoot()
		DeferCleanup(func() { Expect(leftovers(lab)).To(BeEmpty()) })
		return otb(ctx, append([]string{"story", "run", file, "--lab", lab}, extra...)...)
	}

	for _, s := range []struct{ file, lab string }{
		{"../topologies/story-reroute.yaml", "reroute"},
		{"../topologies/story-restart.yaml", "restart"},
		{"../topologies/story-lossy.yaml", "lossy"},
	} {
		It("runs "+filepath.Base(s.file)+", every expectation holding", func(ctx SpecContext) {
			junit := filepath.Join(GinkgoT().TempDir(), "story.xml")
			out, err := run(ctx, s.file, labName(s.lab), "--junit", junit)
			Expect(err).NotTo(HaveOccurred(), out)
			Expect(out).To(MatchRegexp(`(\d+) of (\d+) steps passed`))
			Expect(out).NotTo(ContainSubstring("FAIL"))
			b, err := os.ReadFile(junit)
			Expect(err).NotTo(HaveOccurred())
			var r struct {
				Suites []struct {
					Tests    int `xml:"tests,attr"`
					Failures int `xml:"failures,attr"`
				} `xml:"testsuite"`
			}
			Expect(xml.Unmarshal(b, &r)).To(Succeed())
			Expect(r.Suites).To(HaveLen(1))
			Expect(r.Suites[0].Failures).To(BeZero())
			Expect(r.Suites[0].Tests).To(BeNumerically(">=", 5))
		}, SpecTimeout(3*time.Minute))
	}

	It("fails a story whose expectation cannot hold, naming the step, and still removes its lab", func(ctx SpecContext) {
		dir := GinkgoT().TempDir()
		top, err := filepath.Abs("../topologies/default.yaml")
		Expect(err).NotTo(HaveOccurred())
		f := filepath.Join(dir, "s.yaml")
		Expect(os.WriteFile(f, []byte("topology: "+top+"\nstory:\n"+
			"  - {name: server, node: d, run: \"oping --listen\", bind: oping, background: true}\n"+
			"  - {name: too fast, node: a, run: \"oping -n oping -c 5 -i 10ms\", expect: {rtt_max: 1us}}\n"+
			"  - {name: no such name, node: a, run: \"oping -n nosuchname -c 1\"}\n"+
			"  - {name: fine, node: a, run: \"oping -n oping -c 5 -i 10ms\", expect: {loss_max: 0%}}\n"), 0o644)).To(Succeed())
		out, err := run(ctx, f, labName("sfail"))
		Expect(err).To(HaveOccurred())
		Expect(err.(*exec.ExitError).ExitCode()).To(Equal(1))
		Expect(out).To(MatchRegexp(`2 +\S+ +\S+ +too fast +FAIL +rtt avg \S+ > 1µs`))
		Expect(out).To(MatchRegexp(`3 +\S+ +\S+ +no such name +FAIL +exit status 1, not 0`))
		Expect(out).To(MatchRegexp(`4 +\S+ +\S+ +fine +ok`))
		Expect(out).To(ContainSubstring("2 of 4 steps passed"))
		Expect(out).To(ContainSubstring("story " + f + " failed"))
	}, SpecTimeout(2*time.Minute))
})
