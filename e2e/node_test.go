//go:build e2e

package e2e

import (
	"context"
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

// node is one onode process with its own control socket.
type node struct {
	dir, sock string
	sess      *gexec.Session
}

// startNode runs bin/onode on a fresh socket and stops it (by PID) when the
// spec ends, checking it left its socket behind it.
func startNode(args ...string) *node {
	dir := GinkgoT().TempDir()
	n := &node{dir: dir, sock: filepath.Join(dir, "irm.sock")}
	cmd := exec.Command(filepath.Join(binDir, "onode"), append([]string{"--sock", n.sock, "--log-level", "debug"}, args...)...)
	var err error
	n.sess, err = gexec.Start(cmd, GinkgoWriter, GinkgoWriter)
	Expect(err).NotTo(HaveOccurred())
	Eventually(n.sess.Err).Should(gbytes.Say("node started"))
	DeferCleanup(func() {
		n.sess.Terminate()
		Eventually(n.sess, 10*time.Second).Should(gexec.Exit(0))
		_, err := os.Stat(n.sock)
		Expect(os.IsNotExist(err)).To(BeTrue(), "onode left its socket %s", n.sock)
	})
	return n
}

// cmd builds a command that talks to this node.
func (n *node) cmd(name string, args ...string) *exec.Cmd {
	c := exec.Command(filepath.Join(binDir, name), args...)
	c.Env = append(os.Environ(), "OUROBOROS_SOCK="+n.sock)
	return c
}

// run runs a tool to completion and returns its stdout; it fails the spec
// on a non-zero exit.
func (n *node) run(ctx context.Context, name string, args ...string) string {
	c := n.cmd(name, args...)
	c.Stderr = GinkgoWriter
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			if c.Process != nil {
				c.Process.Kill()
			}
		case <-done:
		}
	}()
	out, err := c.Output()
	close(done)
	GinkgoWriter.Printf("$ %s %s\n%s", name, strings.Join(args, " "), out)
	Expect(err).NotTo(HaveOccurred(), "%s %v failed:\n%s", name, args, out)
	return string(out)
}

// irm runs bin/irm against this node.
func (n *node) irm(ctx context.Context, args ...string) string { return n.run(ctx, "irm", args...) }

// start runs a long-lived tool (a server) and stops it by PID when the spec
// ends.
func (n *node) start(name string, args ...string) *gexec.Session {
	s, err := gexec.Start(n.cmd(name, args...), GinkgoWriter, GinkgoWriter)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() {
		s.Kill()
		Eventually(s).Should(gexec.Exit())
	})
	return s
}

// flows returns irm flow list's rows, but for the pending accepts of
// servers still running.
func (n *node) flows(ctx context.Context) []string {
	var rows []string
	for _, l := range strings.Split(n.irm(ctx, "flow", "list"), "\n") {
		if strings.HasPrefix(l, "|") && !strings.Contains(l, "n_pid") && !strings.Contains(l, "accept-pending") {
			rows = append(rows, l)
		}
	}
	return rows
}
