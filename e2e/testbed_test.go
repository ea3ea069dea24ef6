//go:build e2e

package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	"github.com/onsi/gomega/gexec"
)

// runTag makes the lab names of this run its own: a lab someone else runs
// from the same file, on the same machine, is never adopted or destroyed.
var runTag = func() string {
	var b [3]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}()

// labName is a lab name of this run: base cut to six letters, then runTag.
func labName(base string) string { return base[:min(len(base), 6)] + runTag }

// otb runs bin/otb and returns its combined output and error.
func otb(ctx context.Context, args ...string) (string, error) {
	c := exec.CommandContext(ctx, filepath.Join(binDir, "otb"), args...)
	out, err := c.CombinedOutput()
	GinkgoWriter.Printf("$ otb %s\n%s", strings.Join(args, " "), out)
	return string(out), err
}

func mustOTB(ctx context.Context, args ...string) string {
	out, err := otb(ctx, args...)
	Expect(err).NotTo(HaveOccurred(), "otb %v:\n%s", args, out)
	return out
}

// leftovers lists what a lab left in the kernel and on disk: namespaces,
// processes in them, the lab directory, nftables tables.
func leftovers(lab string) []string {
	l := nftTables(lab)
	ents, _ := os.ReadDir("/run/netns")
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "o7s-"+lab+"-") {
			l = append(l, "netns "+e.Name())
		}
	}
	if _, err := os.Stat("/run/o7s/labs/" + lab); err == nil {
		l = append(l, "lab directory /run/o7s/labs/"+lab)
	}
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		b, err := os.ReadFile("/proc/" + p.Name() + "/cmdline")
		if err == nil && strings.Contains(string(b), "/run/o7s/labs/"+lab+"/") {
			l = append(l, "process "+p.Name()+": "+strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
	return l
}

func requireRoot() {
	if os.Geteuid() != 0 {
		Skip("the netns testbed needs root")
	}
}

// deployLab deploys a topology as lab for an Ordered container and
// destroys it after, checking nothing is left.
func deployLab(ctx context.Context, file, lab string) {
	requireRoot()
	DeferCleanup(func(ctx SpecContext) {
		if CurrentSpecReport().Failed() {
			attachState(ctx, lab)
		}
		mustOTB(ctx, "destroy", lab)
		Expect(leftovers(lab)).To(BeEmpty())
	})
	mustOTB(ctx, "deploy", file, "--lab", lab)
}

// attachState adds a lab's inspect output and the tail of each node's
// onode log to the report.
func attachState(ctx context.Context, lab string) {
	out, _ := otb(ctx, "inspect", lab, "-o", "json")
	AddReportEntry("otb inspect "+lab, out)
	logs, _ := filepath.Glob("/run/o7s/labs/" + lab + "/*/onode.log")
	for _, l := range logs {
		b, _ := os.ReadFile(l)
		if len(b) > 8000 {
			b = b[len(b)-8000:]
		}
		AddReportEntry(l, string(b))
	}
}

// on runs a tool on a node of a lab and returns its output.
func on(ctx context.Context, lab, node string, argv ...string) string {
	return mustOTB(ctx, append([]string{"exec", "--lab", lab, node, "--"}, argv...)...)
}

// serve starts a server on a node; it is stopped by PID at the end.
func serve(lab, node string, argv ...string) *gexec.Session {
	c := exec.Command(filepath.Join(binDir, "otb"), append([]string{"exec", "--lab", lab, node, "--"}, argv...)...)
	s, err := gexec.Start(c, GinkgoWriter, GinkgoWriter)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() { s.Kill(); Eventually(s).Should(gexec.Exit()) })
	return s
}

var _ = Describe("every shim layer type", Ordered, Label("tier:e2e", "runtime:netns", "layer:eth-dix", "layer:eth-llc", "layer:udp"), func() {
	lab := labName("shims")
	BeforeAll(func(ctx SpecContext) {
		deployLab(ctx, "../topologies/shims.yaml", lab)
		for _, l := range []string{"dix", "llc", "udp4", "udp6"} {
			on(ctx, lab, "b", binDir+"/irm", "bind", "program", binDir+"/oping", "name", "oping-"+l)
		}
		srv := serve(lab, "b", binDir+"/oping", "--listen")
		Eventually(srv).Should(gbytes.Say("server started"))
	}, NodeTimeout(time.Minute))

	It("shows every node up with its IPCPs", func(ctx SpecContext) {
		out := mustOTB(ctx, "inspect", lab)
		for _, ipcp := range []string{"eth-ab.a", "llc-ab.b", "udp4-ab.a", "udp6-ab.b"} {
			Expect(out).To(ContainSubstring(ipcp))
		}
		Expect(out).NotTo(ContainSubstring("DOWN"))
	}, SpecTimeout(30*time.Second))

	for _, l := range []string{"dix", "llc", "udp4", "udp6"} {
		It("pings b from a over "+l+" with no loss and intact payloads", func(ctx SpecContext) {
			out := on(ctx, lab, "a", binDir+"/oping", "-n", "oping-"+l, "-c", "200", "-i", "0", "-s", "1000")
			Expect(out).To(ContainSubstring("200 packets transmitted, 200 received"))
			Expect(out).To(ContainSubstring(" 0% packet loss"))
		}, SpecTimeout(time.Minute))
	}

	It("tells a client when its Ethernet link goes down, and works again when it is up", func(ctx SpecContext) {
		cli := serve(lab, "a", binDir+"/oping", "-n", "oping-dix", "-i", "10ms")
		Eventually(cli).Should(gbytes.Say("seq=3 "))
		// The far end of a's veth goes down: a's carrier drops.
		on(ctx, lab, "b", "ip", "link", "set", "e1", "down")
		DeferCleanup(func(ctx SpecContext) { on(ctx, lab, "b", "ip", "link", "set", "e1", "up") })
		Eventually(cli, 10*time.Second).Should(gexec.Exit())
		Expect(cli.ExitCode()).NotTo(Equal(0))
		on(ctx, lab, "b", "ip", "link", "set", "e1", "up")
		Eventually(func() string {
			out, _ := otb(ctx, "exec", "--lab", lab, "a", "--", binDir+"/oping", "-n", "oping-dix", "-c", "3", "-i", "10ms")
			return out
		}).WithContext(ctx).WithTimeout(20 * time.Second).Should(ContainSubstring("3 received"))
	}, SpecTimeout(time.Minute))

	It("deploys again without changing anything", func(ctx SpecContext) {
		Expect(mustOTB(ctx, "deploy", "../topologies/shims.yaml", "--lab", lab)).To(ContainSubstring("nothing to do"))
		Expect(on(ctx, lab, "a", binDir+"/oping", "-n", "oping-dix", "-c", "3", "-i", "10ms")).To(ContainSubstring("3 received"))
	}, SpecTimeout(time.Minute))
})

var _ = Describe("a LAN", Ordered, Label("tier:e2e", "runtime:netns", "layer:eth-dix"), func() {
	lab := labName("lan")
	BeforeAll(func(ctx SpecContext) {
		deployLab(ctx, "../topologies/lan.yaml", lab)
		on(ctx, lab, "c", binDir+"/irm", "bind", "program", binDir+"/oping", "name", "oping")
		srv := serve(lab, "c", binDir+"/oping", "--listen")
		Eventually(srv).Should(gbytes.Say("server started"))
	}, NodeTimeout(time.Minute))

	for _, from := range []string{"a", "b"} {
		It("carries flows from "+from+" to c across the bridge", func(ctx SpecContext) {
			out := on(ctx, lab, from, binDir+"/oping", "-n", "oping", "-c", "100", "-i", "0")
			Expect(out).To(ContainSubstring("100 packets transmitted, 100 received"))
		}, SpecTimeout(time.Minute))
	}
})

var _ = Describe("bad input to the testbed", Label("tier:robustness", "runtime:netns"), func() {
	It("creates nothing from a topology file with errors, and names every error", func(ctx SpecContext) {
		requireRoot()
		f := filepath.Join(GinkgoT().TempDir(), "bad.yaml")
		lab := labName("bad")
		Expect(os.WriteFile(f, []byte("name: "+lab+"\nnodes:\n  a: {kidn: node}\nlinks:\n  - endpoints: [a:e1, zz:e1]\n"), 0o644)).To(Succeed())
		out, err := otb(ctx, "deploy", f)
		Expect(err).To(HaveOccurred())
		Expect(out).To(ContainSubstring("bad.yaml:3"))
		Expect(out).To(ContainSubstring("bad.yaml:5"))
		Expect(leftovers(lab)).To(BeEmpty())
	}, SpecTimeout(30*time.Second))

	It("destroys once; again, or a lab that never was, says so and fails unless --ignore-missing", func(ctx SpecContext) {
		requireRoot()
		lab := labName("twice")
		mustOTB(ctx, "deploy", "../topologies/lan.yaml", "--lab", lab)
		Expect(mustOTB(ctx, "destroy", lab)).To(ContainSubstring("lab " + lab + " destroyed"))
		out, err := otb(ctx, "destroy", lab)
		Expect(err).To(HaveOccurred())
		Expect(out).To(ContainSubstring("no such lab: " + lab))
		Expect(mustOTB(ctx, "destroy", lab, "--ignore-missing")).To(ContainSubstring("nothing to destroy"))
		out, err = otb(ctx, "destroy", "neverwas"+runTag)
		Expect(err).To(HaveOccurred())
		Expect(out).To(ContainSubstring("no such lab"))
		Expect(leftovers(lab)).To(BeEmpty())
	}, SpecTimeout(time.Minute))

	It("deploys one file as two labs side by side, and destroys one without touching the other", func(ctx SpecContext) {
		requireRoot()
		one, two := labName("one"), labName("two")
		deployLab(ctx, "../topologies/lan.yaml", one)
		mustOTB(ctx, "deploy", "../topologies/lan.yaml", "--lab", two)
		mustOTB(ctx, "destroy", two)
		Expect(leftovers(two)).To(BeEmpty())
		Expect(mustOTB(ctx, "inspect", one)).NotTo(ContainSubstring("DOWN"))
	}, SpecTimeout(2*time.Minute))

	It("leaves nothing destroy cannot find when otb is killed during deploy", func(ctx SpecContext) {
		requireRoot()
		lab := labName("killed")
		for _, after := range []time.Duration{5 * time.Millisecond, 30 * time.Millisecond, 100 * time.Millisecond, 400 * time.Millisecond} {
			c := exec.Command(filepath.Join(binDir, "otb"), "deploy", "../topologies/default.yaml", "--lab", lab)
			Expect(c.Start()).To(Succeed())
			time.AfterFunc(after, func() { c.Process.Signal(syscall.SIGKILL) })
			c.Wait()
			mustOTB(ctx, "destroy", lab, "--ignore-missing")
			Expect(leftovers(lab)).To(BeEmpty())
		}
		mustOTB(ctx, "gc")
	}, SpecTimeout(2*time.Minute))
})
