//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	"github.com/onsi/gomega/gexec"
)

// The docker runtime: nodes in containers of the testbed's image, built
// once per run from bin/ (otb image), alone or mixed with namespace nodes.

var imageOnce sync.Once

// requireDocker skips where there is no Docker engine at all (not this
// project's machine kind), fails where one is installed but does not
// answer, and builds the node image once per run.
func requireDocker(ctx context.Context) {
	requireRoot()
	if _, err := os.Stat("/var/run/docker.sock"); err != nil && os.Getenv("DOCKER_HOST") == "" {
		Skip("no Docker engine here (no /var/run/docker.sock, no DOCKER_HOST)")
	}
	imageOnce.Do(func() {
		out := mustOTB(ctx, "image")
		Expect(out).To(MatchRegexp(`image o7s/node:\S+, o7s/node:latest built from .* MB`))
	})
}

// containers lists the names of the containers that carry a lab's label.
func containers(lab string) []string {
	out, err := exec.Command("docker", "ps", "-a", "--filter", "label=o7s.lab="+lab, "--format", "{{.Names}}").CombinedOutput()
	Expect(err).NotTo(HaveOccurred(), string(out))
	return strings.Fields(string(out))
}

// deployDockerLab deploys a topology (with otb deploy's extra args) and
// destroys it after, checking that no container, namespace, directory or
// process of it is left.
func deployDockerLab(ctx context.Context, file, lab string, args ...string) string {
	requireDocker(ctx)
	DeferCleanup(func(ctx SpecContext) {
		if CurrentSpecReport().Failed() {
			attachState(ctx, lab)
			for _, c := range containers(lab) {
				out, _ := exec.Command("docker", "logs", "--tail", "100", c).CombinedOutput()
				AddReportEntry("docker logs "+c, string(out))
			}
		}
		out := mustOTB(ctx, "destroy", lab)
		Expect(out).To(MatchRegexp(`lab ` + lab + ` destroyed \(\d+ namespaces, \d+ containers\)`))
		Expect(leftovers(lab)).To(BeEmpty())
		Expect(containers(lab)).To(BeEmpty())
	})
	return mustOTB(ctx, append([]string{"deploy", file, "--lab", lab}, args...)...)
}

// serveIn starts an oping server bound to name on a node: tool is the
// oping the node runs ("oping" on a container's PATH, or bin/'s).
func serveIn(ctx context.Context, lab, node, irm, oping, name string) *gexec.Session {
	on(ctx, lab, node, irm, "bind", "program", oping, "name", name)
	s := serve(lab, node, oping, "--listen")
	DeferCleanup(func() { s.Terminate().Wait(10 * time.Second) })
	return s
}

// pingOK pings name from a node until every reply comes.
func pingOK(ctx context.Context, lab, node, oping, name string) {
	Eventually(func() string {
		out, _ := otb(ctx, "exec", "--lab", lab, node, "--", oping, "-n", name, "-c", "20", "-i", "0")
		return out
	}).WithContext(ctx).WithTimeout(30*time.Second).WithPolling(time.Second).
		Should(ContainSubstring("20 packets transmitted, 20 received"), "%s -> %s", node, name)
}

var _ = Describe("the default topology in containers", Ordered, Label("tier:e2e", "runtime:docker", "layer:unicast", "layer:eth-dix", "layer:eth-llc", "layer:udp", "feature:node-restart"), func() {
	lab := labName("dock")
	BeforeAll(func(ctx SpecContext) {
		out := deployDockerLab(ctx, "../topologies/default.yaml", lab, "--runtime", "docker")
		Expect(out).To(ContainSubstring("4 namespaces, 4 of them in containers"))
		Expect(out).To(MatchRegexp(`d +onode pid \d+ in container o7s-` + lab + `-d`))
		serveIn(ctx, lab, "d", "irm", "oping", "oping")
		serveIn(ctx, lab, "b", "irm", "oping", "oping-dix")
	}, NodeTimeout(2*time.Minute))

	It("runs every node as two labelled containers of the node image", func(ctx SpecContext) {
		cs := containers(lab)
		Expect(cs).To(ConsistOf("o7s-"+lab+"-a", "o7s-"+lab+"-a-ns", "o7s-"+lab+"-b", "o7s-"+lab+"-b-ns",
			"o7s-"+lab+"-c", "o7s-"+lab+"-c-ns", "o7s-"+lab+"-d", "o7s-"+lab+"-d-ns"))
		out, err := exec.Command("docker", "inspect", "-f", "{{index .Config.Labels \"o7s.node\"}} {{index .Config.Labels \"o7s.role\"}} {{.HostConfig.NetworkMode}} {{.Config.Image}}", "o7s-"+lab+"-d").CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), string(out))
		holder, err := exec.Command("docker", "inspect", "-f", "{{.Id}}", "o7s-"+lab+"-d-ns").CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), string(holder))
		Expect(string(out)).To(Equal("d node container:" + strings.TrimSpace(string(holder)) + " " + "o7s/node:" + strings.Fields(mustOTB(ctx, "--version"))[4] + "\n"))
		var r struct {
			Nodes []struct {
				Name, Runtime, Container, Log string
				LogTail                       string `json:"log_tail"`
			} `json:"nodes"`
		}
		Expect(json.Unmarshal([]byte(mustOTB(ctx, "inspect", lab, "-o", "json")), &r)).To(Succeed())
		Expect(r.Nodes).To(HaveLen(4))
		for _, n := range r.Nodes {
			Expect(n.Runtime).To(Equal("docker"), n.Name)
			Expect(n.Container).To(Equal("o7s-" + lab + "-" + n.Name))
			Expect(n.Log).To(Equal("docker logs o7s-" + lab + "-" + n.Name))
			Expect(n.LogTail).To(ContainSubstring("level=INFO"))
		}
		Expect(mustOTB(ctx, "logs", "--lab", lab, "a")).To(ContainSubstring(`msg="node started"`))
	}, SpecTimeout(time.Minute))

	It("carries oping and operf across three hops and over one shim, through docker exec", func(ctx SpecContext) {
		pingOK(ctx, lab, "a", "oping", "oping")
		pingOK(ctx, lab, "a", "oping", "oping-dix")
		on(ctx, lab, "d", "irm", "bind", "program", "operf", "name", "operf")
		srv := serve(lab, "d", "operf", "--listen")
		DeferCleanup(func() { srv.Terminate().Wait(10 * time.Second) })
		Eventually(func() string {
			out, _ := otb(ctx, "exec", "--lab", lab, "a", "--", "operf", "-n", "operf", "-s", "1000", "-d", "1s")
			return out
		}).WithContext(ctx).WithTimeout(20 * time.Second).Should(MatchRegexp(`[1-9]\d* packets transmitted`))
	}, SpecTimeout(time.Minute))

	It("passes the exit status, standard input and a signal through otb exec", func(ctx SpecContext) {
		_, err := otb(ctx, "exec", "--lab", lab, "a", "--", "oping", "-n", "nosuchname", "-c", "1")
		Expect(err).To(HaveOccurred())
		Expect(err.(*exec.ExitError).ExitCode()).To(Equal(1))
		_, err = otb(ctx, "exec", "--lab", lab, "a", "--", "nosuchprogram")
		Expect(err).To(HaveOccurred())
		Expect(err.(*exec.ExitError).ExitCode()).To(BeNumerically(">=", 126))
		// A server stopped through otb exec's SIGTERM is gone from the container.
		top := func() string {
			out, _ := exec.Command("docker", "top", "o7s-"+lab+"-c").CombinedOutput()
			return string(out)
		}
		s := serve(lab, "c", "oping", "--listen")
		Eventually(top).WithTimeout(10 * time.Second).Should(ContainSubstring("oping --listen"))
		s.Terminate()
		Eventually(s).WithTimeout(10 * time.Second).Should(gexec.Exit())
		Eventually(top).WithTimeout(10 * time.Second).ShouldNot(ContainSubstring("oping --listen"))
		// Standard input reaches the command: oping reads none, irm
		// neither; a name created from a piped argument list shows it went
		// through the pipe's end without hanging.
		cmd := exec.CommandContext(ctx, filepath.Join(binDir, "otb"), "exec", "--lab", lab, "c", "--", "irm", "name", "list")
		cmd.Stdin = strings.NewReader("ignored\n")
		out, err := cmd.CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), string(out))
		Expect(string(out)).To(ContainSubstring("oping-udp"))
	}, SpecTimeout(time.Minute))

	It("keeps a flow going while a middle node's container restarts, its links staying", func(ctx SpecContext) {
		pid := nodeOf(ctx, lab, "c").PID
		cli := serve(lab, "a", "oping", "-n", "oping", "-i", "2s", "-c", "6")
		Eventually(cli, 20*time.Second).Should(gbytes.Say(`seq=0 `))
		out := mustOTB(ctx, "node", "restart", "c", "--lab", lab)
		Expect(out).To(MatchRegexp(`c +onode pid \d+ in container o7s-` + lab + `-c`))
		Expect(out).To(ContainSubstring("every layer converged again"))
		Expect(nodeOf(ctx, lab, "c").PID).NotTo(Equal(pid))
		Eventually(cli, 40*time.Second).Should(gexec.Exit())
		Expect(string(cli.Out.Contents())).To(ContainSubstring("seq=5 "), "the flow went on to its last ping")
		pingOK(ctx, lab, "a", "oping", "oping")
	}, SpecTimeout(2*time.Minute))

	It("sees a node container killed behind its back, and brings it back with otb node start", func(ctx SpecContext) {
		out, err := exec.Command("docker", "kill", "o7s-"+lab+"-b").CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), string(out))
		Eventually(func() bool { return nodeOf(ctx, lab, "b").Up }).WithContext(ctx).WithTimeout(10 * time.Second).Should(BeFalse())
		_, err = otb(ctx, "wait", lab, "--timeout", "2s")
		Expect(err).To(HaveOccurred())
		out2, err := otb(ctx, "exec", "--lab", lab, "b", "--", "irm", "ipcp", "list")
		Expect(err).To(HaveOccurred())
		Expect(out2).To(ContainSubstring("node b is stopped (its container o7s-" + lab + "-b is exited): otb node start b"))
		Expect(mustOTB(ctx, "node", "start", "b", "--lab", lab)).To(ContainSubstring("every layer converged again"))
		Expect(nodeOf(ctx, lab, "b").Up).To(BeTrue())
		pingOK(ctx, lab, "a", "oping", "oping")
	}, SpecTimeout(2*time.Minute))
})

var _ = Describe("a mixed lab of containers and namespaces", Ordered, Label("tier:e2e", "runtime:docker", "runtime:netns", "layer:unicast", "layer:eth-dix"), func() {
	lab := labName("mixed")
	BeforeAll(func(ctx SpecContext) {
		out := deployDockerLab(ctx, "../topologies/mixed.yaml", lab)
		Expect(out).To(ContainSubstring("5 namespaces, 2 of them in containers"))
		serveIn(ctx, lab, "d", binDir+"/irm", binDir+"/oping", "oping")
		serveIn(ctx, lab, "a", "irm", "oping", "oping-a")
	}, NodeTimeout(2*time.Minute))

	It("carries flows both ways between a container and a namespace", func(ctx SpecContext) {
		pingOK(ctx, lab, "a", "oping", "oping")
		pingOK(ctx, lab, "d", binDir+"/oping", "oping-a")
	}, SpecTimeout(time.Minute))

	It("gives a container the limits its node asks for", func(ctx SpecContext) {
		out, err := exec.Command("docker", "inspect", "-f", "{{.HostConfig.NanoCpus}} {{.HostConfig.Memory}}", "o7s-"+lab+"-b").CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), string(out))
		Expect(string(out)).To(Equal("1000000000 268435456\n"))
		Expect(containers(lab)).To(HaveLen(4), "a and b only")
	}, SpecTimeout(30*time.Second))
})

var _ = Describe("bad input to the docker runtime", Label("tier:robustness", "runtime:docker"), func() {
	write := func(name, src string) string {
		p := filepath.Join(GinkgoT().TempDir(), name)
		Expect(os.WriteFile(p, []byte(src), 0o644)).To(Succeed())
		return p
	}

	It("says there is no engine, before it makes anything", func(ctx SpecContext) {
		requireRoot()
		lab := labName("noeng")
		cmd := exec.CommandContext(ctx, filepath.Join(binDir, "otb"), "deploy", "../topologies/mixed.yaml", "--lab", lab)
		cmd.Env = append(os.Environ(), "DOCKER_HOST=unix:///nonexistent/docker.sock")
		out, err := cmd.CombinedOutput()
		Expect(err).To(HaveOccurred())
		Expect(string(out)).To(ContainSubstring("node a has runtime docker: no Docker engine answers at unix:///nonexistent/docker.sock"))
		Expect(string(out)).To(ContainSubstring("start dockerd, or set DOCKER_HOST"))
		Expect(leftovers(lab)).To(BeEmpty())
	}, SpecTimeout(30*time.Second))

	It("names an image that does not exist and makes nothing", func(ctx SpecContext) {
		requireDocker(ctx)
		lab := labName("noimg")
		f := write("t.yaml", "name: t\nruntime: docker\nnodes:\n  a: {}\n  b: {image: o7s-test/nosuch:1}\nlinks:\n  - endpoints: [a:e1, b:e1]\n")
		out, err := otb(ctx, "deploy", f, "--lab", lab)
		Expect(err).To(HaveOccurred())
		Expect(out).To(ContainSubstring("image not found: o7s-test/nosuch:1 is not in the Docker engine"))
		Expect(leftovers(lab)).To(BeEmpty())
		Expect(containers(lab)).To(BeEmpty())
	}, SpecTimeout(time.Minute))

	It("shows the log of a container that exits at start, and removes everything made", func(ctx SpecContext) {
		requireDocker(ctx)
		// An image whose onode is opause, which refuses onode's arguments.
		dir := GinkgoT().TempDir()
		b, err := os.ReadFile(filepath.Join(binDir, "opause"))
		Expect(err).NotTo(HaveOccurred())
		Expect(os.WriteFile(filepath.Join(dir, "onode"), b, 0o755)).To(Succeed())
		Expect(os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM o7s/node:latest\nCOPY onode /usr/bin/onode\n"), 0o644)).To(Succeed())
		tag := "o7s-test/broken:" + runTag
		cmd := exec.Command("docker", "build", "-q", "-t", tag, dir)
		cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
		out, err := cmd.CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), string(out))
		DeferCleanup(func() { exec.Command("docker", "rmi", "-f", tag).Run() })
		lab := labName("broken")
		f := write("t.yaml", "name: t\nruntime: docker\nnodes:\n  a: {}\n  b: {image: "+tag+"}\nlinks:\n  - endpoints: [a:e1, b:e1]\n")
		o, err := otb(ctx, "deploy", f, "--lab", lab)
		Expect(err).To(HaveOccurred())
		Expect(o).To(ContainSubstring("node b: start onode"))
		Expect(o).To(ContainSubstring("--- last lines of its log ---\nUsage: opause"))
		Expect(o).To(ContainSubstring("deploy failed; removing what was made"))
		Expect(leftovers(lab)).To(BeEmpty())
		Expect(containers(lab)).To(BeEmpty())
	}, SpecTimeout(2*time.Minute))

	It("refuses image: on a namespace node and a docker gateway in the file", func(ctx SpecContext) {
		f := write("t.yaml", "name: t\nnodes:\n  a: {image: x}\n")
		out, err := otb(ctx, "deploy", f, "--dry-run")
		Expect(err).To(HaveOccurred())
		Expect(out).To(ContainSubstring("node a runs in a network namespace, and image: is for containers"))
	}, SpecTimeout(30*time.Second))

	It("collects the containers of a deploy that was killed", func(ctx SpecContext) {
		requireDocker(ctx)
		lab := labName("killed")
		cmd := exec.Command(filepath.Join(binDir, "otb"), "deploy", "../topologies/default.yaml", "--runtime", "docker", "--lab", lab)
		s, err := gexec.Start(cmd, GinkgoWriter, GinkgoWriter)
		Expect(err).NotTo(HaveOccurred())
		Eventually(func() []string { return containers(lab) }).WithTimeout(30 * time.Second).ShouldNot(BeEmpty())
		s.Kill().Wait(10 * time.Second)
		out, err := otb(ctx, "deploy", "../topologies/default.yaml", "--runtime", "docker", "--lab", lab)
		if err == nil { // the deploy had finished before it was killed
			mustOTB(ctx, "destroy", lab)
		} else {
			Expect(out).To(ContainSubstring("lab " + lab + " is half made"))
			Expect(mustOTB(ctx, "gc")).To(ContainSubstring("lab " + lab + " destroyed"))
		}
		Expect(leftovers(lab)).To(BeEmpty())
		Expect(containers(lab)).To(BeEmpty())
	}, SpecTimeout(2*time.Minute))
})
