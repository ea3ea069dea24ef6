//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	"github.com/onsi/gomega/gexec"
)

// The swarm runtime: a swarm of three engines of this run's own (otb
// swarm up), the default topology spread over them, and everything gone
// after (engines, their namespaces and directories, containers, networks).

// swarmUp makes a swarm of n engines for an Ordered container and takes it
// down after, checking that nothing of it is left.
func swarmUp(ctx context.Context, name string, n int) {
	requireDocker(ctx)
	if _, err := exec.LookPath("dockerd"); err != nil {
		Skip("no dockerd to start engines of our own")
	}
	DeferCleanup(func(ctx SpecContext) {
		if CurrentSpecReport().Failed() {
			out, _ := otb(ctx, "swarm", "ls")
			AddReportEntry("otb swarm ls", out)
			for k := 1; k <= n; k++ {
				b, _ := os.ReadFile(filepath.Join("/run/o7s/swarm", name, "e"+string(rune('0'+k))+".log"))
				if len(b) > 6000 {
					b = b[len(b)-6000:]
				}
				AddReportEntry("dockerd log e"+string(rune('0'+k)), string(b))
			}
		}
		out := mustOTB(ctx, "swarm", "down", "--name", name, "--force")
		Expect(out).To(ContainSubstring("swarm " + name + " down"))
		Expect(swarmLeftovers(name)).To(BeEmpty())
	})
	out := mustOTB(ctx, "swarm", "up", "3", "--name", name)
	Expect(out).To(ContainSubstring("e1 started it; 2 more joined as managers"))
	Expect(out).To(MatchRegexp(`e3 +image o7s/node:\S+ loaded`))
}

// swarmLeftovers lists what a swarm left: namespaces, directories, dockerd
// processes naming its directory.
func swarmLeftovers(name string) []string {
	var l []string
	ents, _ := os.ReadDir("/run/netns")
	for _, e := range ents {
		if e.Name() == "o7ssw-"+name || strings.HasPrefix(e.Name(), "o7ssw-"+name+"-") {
			l = append(l, "netns "+e.Name())
		}
	}
	for _, d := range []string{"/run/o7s/swarm/" + name, "/var/lib/o7s/swarm/" + name} {
		if _, err := os.Stat(d); err == nil {
			l = append(l, "dir "+d)
		}
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, _ := os.ReadFile(p)
		if strings.Contains(string(b), "/run/o7s/swarm/"+name+"/") {
			l = append(l, "process "+p+": "+strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
	return l
}

// engineDocker runs the docker command against an engine of the swarm.
func engineDocker(swarm, engine string, args ...string) string {
	out, err := exec.Command("docker", append([]string{"-H", "unix:///run/o7s/swarm/" + swarm + "/" + engine + ".sock"}, args...)...).CombinedOutput()
	Expect(err).NotTo(HaveOccurred(), string(out))
	return string(out)
}

var _ = Describe("the default topology across three engines of a swarm", Ordered, Label("tier:e2e", "runtime:swarm", "layer:unicast", "layer:eth-dix", "layer:eth-llc", "layer:udp", "feature:node-restart"), func() {
	sw := "sw" + runTag
	lab := labName("swarm")
	BeforeAll(func(ctx SpecContext) {
		swarmUp(ctx, sw, 3)
		DeferCleanup(func(ctx SpecContext) {
			if CurrentSpecReport().Failed() {
				attachState(ctx, lab)
			}
			mustOTB(ctx, "destroy", lab, "--ignore-missing")
			Expect(leftovers(lab)).To(BeEmpty())
			for _, e := range []string{"e1", "e2", "e3"} {
				Expect(engineDocker(sw, e, "ps", "-aq", "--filter", "label=o7s.lab="+lab)).To(BeEmpty(), e)
				Expect(engineDocker(sw, e, "network", "ls", "-q", "--filter", "label=o7s.lab="+lab)).To(BeEmpty(), e)
			}
		})
		out := mustOTB(ctx, "deploy", "../topologies/default.yaml", "--lab", lab, "--swarm", sw)
		Expect(out).To(MatchRegexp(`overlay network o7s-` + lab + ` \(MTU 1550\) through e1, 3 hosts`))
		for node, host := range map[string]string{"a": "e1", "b": "e2", "c": "e3", "d": "e1"} {
			Expect(out).To(MatchRegexp(node+` +onode pid \d+ in container o7s-`+lab+`-`+node+` on host `+host), node)
		}
		serveIn(ctx, lab, "d", "irm", "oping", "oping")
		serveIn(ctx, lab, "b", "irm", "oping", "oping-dix")
		serveIn(ctx, lab, "c", "irm", "oping", "oping-udp")
	}, NodeTimeout(3*time.Minute))

	It("runs each node's containers on its host's engine, one overlay network joining them", func(ctx SpecContext) {
		want := map[string][]string{"e1": {"a", "d"}, "e2": {"b"}, "e3": {"c"}}
		for e, nodes := range want {
			var names []string
			for _, n := range nodes {
				names = append(names, "o7s-"+lab+"-"+n, "o7s-"+lab+"-"+n+"-ns")
			}
			Expect(strings.Fields(engineDocker(sw, e, "ps", "--filter", "label=o7s.lab="+lab, "--format", "{{.Names}}"))).To(ConsistOf(names), e)
		}
		Expect(engineDocker(sw, "e1", "network", "ls", "--filter", "label=o7s.lab="+lab, "--format", "{{.Name}} {{.Driver}} {{.Scope}}")).
			To(Equal("o7s-" + lab + " overlay swarm\n"))
		var r struct {
			Nodes []struct{ Name, Host, Runtime string } `json:"nodes"`
		}
		Expect(json.Unmarshal([]byte(mustOTB(ctx, "inspect", lab, "-o", "json")), &r)).To(Succeed())
		for _, n := range r.Nodes {
			Expect(n.Runtime).To(Equal("swarm"), n.Name)
		}
		// Each link is a VXLAN device under the file's interface name.
		out := on(ctx, lab, "a", "irm", "ipcp", "list")
		Expect(out).To(ContainSubstring("eth-ab.a"))
		link, err := exec.Command("ip", "-n", "o7s-"+lab+"-b", "-d", "link", "show", "u0").CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), string(link))
		Expect(string(link)).To(ContainSubstring("vxlan id 2"))
		Expect(mustOTB(ctx, "logs", "--lab", lab, "c")).To(ContainSubstring(`msg="node started"`))
	}, SpecTimeout(time.Minute))

	It("carries oping across three hosts and over each shim, and operf across them", func(ctx SpecContext) {
		pingOK(ctx, lab, "a", "oping", "oping")
		pingOK(ctx, lab, "a", "oping", "oping-dix")
		pingOK(ctx, lab, "b", "oping", "oping-udp")
		on(ctx, lab, "d", "irm", "bind", "program", "operf", "name", "operf")
		srv := serve(lab, "d", "operf", "--listen")
		DeferCleanup(func() { srv.Terminate().Wait(10 * time.Second) })
		Eventually(func() string {
			out, _ := otb(ctx, "exec", "--lab", lab, "a", "--", "operf", "-n", "operf", "-s", "1400", "-f", "-d", "1s")
			return out
		}).WithContext(ctx).WithTimeout(20 * time.Second).Should(MatchRegexp(`[1-9]\d{2,} packets transmitted`))
	}, SpecTimeout(time.Minute))

	It("keeps a flow going while a node on another engine restarts, its links staying", func(ctx SpecContext) {
		pid := nodeOf(ctx, lab, "c").PID
		cli := serve(lab, "a", "oping", "-n", "oping", "-i", "2s", "-c", "6")
		Eventually(cli, 20*time.Second).Should(gbytes.Say(`seq=0 `))
		out := mustOTB(ctx, "node", "restart", "c", "--lab", lab)
		Expect(out).To(MatchRegexp(`c +onode pid \d+ in container o7s-` + lab + `-c on host e3`))
		Expect(out).To(ContainSubstring("every layer converged again"))
		Expect(nodeOf(ctx, lab, "c").PID).NotTo(Equal(pid))
		Eventually(cli, 40*time.Second).Should(gexec.Exit())
		Expect(string(cli.Out.Contents())).To(ContainSubstring("seq=5 "), "the flow went on to its last ping")
	}, SpecTimeout(2*time.Minute))

	It("refuses to take the swarm down under a lab", func(ctx SpecContext) {
		out, err := otb(ctx, "swarm", "down", "--name", sw)
		Expect(err).To(HaveOccurred())
		Expect(out).To(ContainSubstring("swarm " + sw + " still runs nodes of lab " + lab + ": otb destroy " + lab + " first"))
		Expect(mustOTB(ctx, "swarm", "ls")).To(MatchRegexp(`e3 +198\.19\.0\.3 +\d+ +active +manager +` + lab))
	}, SpecTimeout(time.Minute))

	It("reports the nodes of an engine that stopped, and is destroyed once it is back", func(ctx SpecContext) {
		Expect(mustOTB(ctx, "swarm", "stop", "e3", "--name", sw)).To(ContainSubstring("engine e3 of swarm " + sw + " stopped"))
		c := nodeOf(ctx, lab, "c")
		Expect(c.Up).To(BeFalse())
		out, err := otb(ctx, "inspect", lab)
		Expect(err).NotTo(HaveOccurred(), out)
		Expect(out).To(MatchRegexp(`c +node .* on host e3 ERROR: host e3: no Docker engine answers`))
		_, err = otb(ctx, "wait", lab, "--timeout", "2s")
		Expect(err).To(HaveOccurred())
		// The others go on.
		pingOK(ctx, lab, "a", "oping", "oping-dix")
		// Destroy cannot remove what is on e3: it says so, and keeps the record.
		out, err = otb(ctx, "destroy", lab)
		Expect(err).To(HaveOccurred())
		Expect(out).To(ContainSubstring("lab " + lab + " has nodes on host e3"))
		Expect(out).To(ContainSubstring("start the engine again and destroy the lab again"))
		Expect("/run/o7s/labs/" + lab + "/state.json").To(BeAnExistingFile())
		Expect(mustOTB(ctx, "swarm", "start", "e3", "--name", sw)).To(ContainSubstring("engine e3 of swarm " + sw + " started"))
		Expect(mustOTB(ctx, "destroy", lab)).To(MatchRegexp(`lab ` + lab + ` destroyed \(0 namespaces, 2 containers\)`))
	}, SpecTimeout(2*time.Minute))
})

var _ = Describe("bad input to the swarm runtime", Label("tier:robustness", "runtime:swarm"), func() {
	It("names a swarm that does not exist, and a swarm lab with no hosts", func(ctx SpecContext) {
		requireRoot()
		out, err := otb(ctx, "deploy", "../topologies/default.yaml", "--lab", labName("nosw"), "--swarm", "nosuch")
		Expect(err).To(HaveOccurred())
		Expect(out).To(ContainSubstring("no swarm nosuch on this machine"))
		Expect(out).To(ContainSubstring("otb swarm up 3 --name nosuch"))
		out, err = otb(ctx, "deploy", "../topologies/default.yaml", "--lab", labName("nosw"), "--runtime", "swarm")
		Expect(err).To(HaveOccurred())
		Expect(out).To(ContainSubstring("deploy with --swarm NAME"))
		out, err = otb(ctx, "swarm", "up", "0")
		Expect(err).To(HaveOccurred())
		Expect(out).To(ContainSubstring("a swarm has 1 to 16 engines, not 0"))
		out, err = otb(ctx, "swarm", "up", "2", "--name", "Bad-Name")
		Expect(err).To(HaveOccurred())
		Expect(out).To(ContainSubstring(`swarm name "Bad-Name"`))
		Expect(leftovers(labName("nosw"))).To(BeEmpty())
	})

	It("says which host's engine does not answer, and which is in no swarm, before it makes anything", func(ctx SpecContext) {
		requireDocker(ctx)
		lab := labName("swhost")
		dir := GinkgoT().TempDir()
		write := func(engine string) string {
			file := filepath.Join(dir, "t.yaml")
			Expect(os.WriteFile(file, []byte("name: t\nruntime: swarm\nhosts: {h1: {engine: \""+engine+"\"}}\nnodes: {a: {}, b: {}}\nlinks: [{endpoints: [a:e1, b:e1]}]\nlayers: {ab: {type: eth-dix, link: \"a:e1--b:e1\"}}\n"), 0o644)).To(Succeed())
			return file
		}
		out, err := otb(ctx, "deploy", write("unix:///nonexistent/o7s.sock"), "--lab", lab)
		Expect(err).To(HaveOccurred())
		Expect(out).To(ContainSubstring("host h1: no Docker engine answers at unix:///nonexistent/o7s.sock"))
		// The machine's own engine: not in a swarm (otb swarm up leaves it out).
		if st, _ := exec.Command("docker", "info", "-f", "{{.Swarm.LocalNodeState}}").Output(); strings.TrimSpace(string(st)) == "inactive" {
			out, err = otb(ctx, "deploy", write("unix:///var/run/docker.sock"), "--lab", lab)
			Expect(err).To(HaveOccurred())
			Expect(out).To(ContainSubstring("host h1 (unix:///var/run/docker.sock) is not in a swarm (its state: inactive): make one with otb swarm up"))
		}
		Expect(leftovers(lab)).To(BeEmpty())
		Expect(containers(lab)).To(BeEmpty())
	}, SpecTimeout(time.Minute))

	It("refuses an impairment that needs a relay between hosts, making nothing", func(ctx SpecContext) {
		sw := "sx" + runTag
		swarmUp(ctx, sw, 1)
		lab := labName("swbad")
		dir := GinkgoT().TempDir()
		file := filepath.Join(dir, "t.yaml")
		Expect(os.WriteFile(file, []byte("name: t\nnodes: {a: {}, b: {}}\nlinks: [{endpoints: [a:e1, b:e1], impair: {delay: 10ms}}]\nlayers: {ab: {type: eth-dix, link: \"a:e1--b:e1\"}}\n"), 0o644)).To(Succeed())
		out, err := otb(ctx, "deploy", file, "--lab", lab, "--swarm", sw)
		Expect(err).To(HaveOccurred())
		Expect(out).To(ContainSubstring("needs a relay"))
		Expect(leftovers(lab)).To(BeEmpty())
		Expect(engineDocker(sw, "e1", "ps", "-aq", "--filter", "label=o7s.lab="+lab)).To(BeEmpty())
		Expect(engineDocker(sw, "e1", "network", "ls", "-q", "--filter", "label=o7s.lab="+lab)).To(BeEmpty())
	}, SpecTimeout(2*time.Minute))
})
