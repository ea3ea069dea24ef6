//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
)

// Two IP LANs joined by ovpn over a unicast layer of two hops: hosts
// (plain namespaces, no onode) on LAN bridges, gateways that run ovpn
// (topologies/iplan.yaml: tun, routed; topologies/iplan-tap.yaml: tap,
// one broadcast domain).

// labTunnel is a tunnel as otb inspect -o json shows it.
type labTunnel struct {
	Name string `json:"name"`
	Ends []struct {
		Role string `json:"role"`
		Node string `json:"node"`
		Dev  string `json:"dev"`
		PID  int    `json:"pid"`
	} `json:"ends"`
	Up    []bool `json:"up"`
	DevUp []bool `json:"dev_up"`
}

func tunnels(ctx context.Context, lab string) []labTunnel {
	var r struct {
		Tunnels []labTunnel `json:"tunnels"`
	}
	out := mustOTB(ctx, "inspect", lab, "-o", "json")
	Expect(json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &r)).To(Succeed())
	return r.Tunnels
}

// endPID is the PID otb recorded for a tunnel's end.
func endPID(ctx context.Context, lab, name, role string) int {
	for _, t := range tunnels(ctx, lab) {
		for _, e := range t.Ends {
			if t.Name == name && e.Role == role {
				return e.PID
			}
		}
	}
	Fail(fmt.Sprintf("lab %s has no %s of tunnel %s", lab, role, name))
	return 0
}

// deployTunnelLab is deployLab, checking too that no ovpn of the lab is
// left after destroy (by the PIDs inspect showed, and by the node socket
// in any process's environment).
func deployTunnelLab(ctx context.Context, file, lab string) {
	var pids []int
	DeferCleanup(func() {
		for _, p := range pids {
			if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p)); err == nil && strings.Contains(string(b), "ovpn") {
				Fail(fmt.Sprintf("ovpn pid %d is left: %q", p, b))
			}
		}
		procs, _ := os.ReadDir("/proc")
		for _, p := range procs {
			b, err := os.ReadFile("/proc/" + p.Name() + "/environ")
			if err == nil && strings.Contains(string(b), "OUROBOROS_SOCK=/run/o7s/labs/"+lab+"/") {
				Fail("process " + p.Name() + " of lab " + lab + " is left")
			}
		}
	})
	deployLab(ctx, file, lab) // its cleanup runs first: destroy, then the checks above
	for _, t := range tunnels(ctx, lab) {
		Expect(t.Up).To(Equal([]bool{true, true}), "tunnel %s: both ovpn run", t.Name)
		for _, e := range t.Ends {
			pids = append(pids, e.PID)
		}
	}
	// ovpn's log lines, for a failure's report.
	DeferCleanup(func(ctx SpecContext) {
		if CurrentSpecReport().Failed() {
			for _, f := range must(filepath.Glob("/run/o7s/labs/" + lab + "/*/ovpn-*.log")) {
				b, _ := os.ReadFile(f)
				AddReportEntry(f, string(b))
			}
		}
	})
}

func must[T any](v T, _ error) T { return v }

// icmp pings dst from a node n times with kbase and returns its output.
func icmp(ctx context.Context, lab, node, dst string, n int) string {
	out, _ := otb(ctx, "exec", "--lab", lab, node, "--", binDir+"/kbase", "icmp", dst, "-c", fmt.Sprint(n))
	return out
}

var sha = regexp.MustCompile(`sha256 ([0-9a-f]{64})`)
var mbps = regexp.MustCompile(`([0-9.]+) Mb/s`)

// tcpTransfer sends size bytes over TCP from one node to dst (ADDR:PORT
// on node to) with kbase, checks that the sha256 of what arrived is that
// of what was sent, and returns the goodput in Mb/s as the sender saw it.
func tcpTransfer(ctx context.Context, lab, from, to, dst string, size int) string {
	sink := serve(lab, to, binDir+"/kbase", "tcp-sink", dst, "-t", "90s")
	time.Sleep(300 * time.Millisecond) // its listener: no output to wait for
	sent := on(ctx, lab, from, binDir+"/kbase", "tcp-send", dst, "-n", fmt.Sprint(size), "-t", "90s")
	Eventually(sink).WithTimeout(30 * time.Second).Should(gbytes.Say("tcp received: "))
	Eventually(sink).Should(gbytes.Say(`\n`))
	got := string(sink.Out.Contents())
	Expect(got).To(ContainSubstring(fmt.Sprintf("tcp received: %d bytes", size)))
	s, g := sha.FindStringSubmatch(sent), sha.FindStringSubmatch(got)
	Expect(s).NotTo(BeNil(), sent)
	Expect(g).NotTo(BeNil(), got)
	Expect(g[1]).To(Equal(s[1]), "the hash of what arrived is that of what was sent")
	return mbps.FindStringSubmatch(sent)[1]
}

var _ = Describe("two IP LANs joined by ovpn (tun) over a unicast layer", Ordered, Label("tier:e2e", "runtime:netns", "layer:unicast", "layer:eth-dix", "feature:tunnel"), func() {
	lab := labName("iplan")
	BeforeAll(func(ctx SpecContext) {
		deployTunnelLab(ctx, "../topologies/iplan.yaml", lab)
	}, NodeTimeout(2*time.Minute))

	It("shows both gateways' ovpn and their devices in inspect, and routes the hosts through their gateway", func(ctx SpecContext) {
		ts := tunnels(ctx, lab)
		Expect(ts).To(HaveLen(1))
		Expect(ts[0].DevUp).To(Equal([]bool{true, true}))
		out := mustOTB(ctx, "inspect", lab)
		Expect(out).To(MatchRegexp(`vpn\s+tun\s+server\s+g1`))
		Expect(out).To(MatchRegexp(`vpn\s+tun\s+client\s+g2`))
		Expect(on(ctx, lab, "h1", "ip", "route")).To(ContainSubstring("10.2.0.0/24 via 10.1.0.1"))
		Expect(on(ctx, lab, "h3", "ip", "-6", "route")).To(ContainSubstring("fd01::/64 via fd02::1"))
	}, SpecTimeout(30*time.Second))

	for _, p := range []struct{ from, to, dst string }{
		{"h1", "h3", "10.2.0.13"}, {"h1", "h3", "fd02::13"},
		{"h4", "h2", "10.1.0.12"}, {"h4", "h2", "fd01::12"},
	} {
		It(fmt.Sprintf("pings %s on the far LAN from %s (%s)", p.to, p.from, p.dst), func(ctx SpecContext) {
			// None lost, the first included (deploy waits for the
			// link-local addresses' duplicate address detection).
			Expect(icmp(ctx, lab, p.from, p.dst, 20)).To(ContainSubstring("20 sent, 20 received"))
		}, SpecTimeout(time.Minute))
	}

	It("transfers a file over TCP from h1 to h3 with its hash intact (and the bare veth h1-h3 for comparison)", func(ctx SpecContext) {
		const size = 16 << 20
		tun := tcpTransfer(ctx, lab, "h1", "h3", "10.2.0.13:5001", size)
		veth := tcpTransfer(ctx, lab, "h1", "h3", "192.168.99.2:5002", size)
		AddReportEntry("TCP h1 -> h3", fmt.Sprintf("16 MiB through the tunnel: %s Mb/s; over the bare veth: %s Mb/s", tun, veth))
		GinkgoWriter.Printf("TCP h1 -> h3, 16 MiB: tunnel %s Mb/s, bare veth %s Mb/s\n", tun, veth)
	}, SpecTimeout(3*time.Minute))

	It("brings the tunnel back when the client gateway's ovpn is killed and restarted", func(ctx SpecContext) {
		pid := endPID(ctx, lab, "vpn", "client")
		Expect(syscall.Kill(pid, syscall.SIGKILL)).To(Succeed())
		Eventually(func() []bool { return tunnels(ctx, lab)[0].Up }).WithContext(ctx).Should(Equal([]bool{true, false}))
		Expect(icmp(ctx, lab, "h3", "10.1.0.11", 2)).To(ContainSubstring("0 received"))
		Expect(mustOTB(ctx, "tunnel", "restart", "vpn", "--end", "client", "--lab", lab)).To(ContainSubstring("client on g2 restarted"))
		Expect(endPID(ctx, lab, "vpn", "client")).NotTo(Equal(pid))
		// The server sends to the client a destination was last seen
		// behind, per address, and keeps the dead client's session until
		// its peer timeout (120 s): each far address speaks first over the
		// new flow.
		for _, dst := range []string{"10.1.0.11", "fd01::11"} {
			Eventually(func() string { return icmp(ctx, lab, "h3", dst, 3) }).WithContext(ctx).WithTimeout(20 * time.Second).
				Should(ContainSubstring("3 received"))
		}
		Expect(icmp(ctx, lab, "h1", "10.2.0.13", 10)).To(ContainSubstring("10 received"))
		Expect(icmp(ctx, lab, "h1", "fd02::13", 10)).To(ContainSubstring("10 received"))
		Expect(tunnels(ctx, lab)[0].Up).To(Equal([]bool{true, true}))
	}, SpecTimeout(time.Minute))
})

var _ = Describe("two Ethernet LANs made one by ovpn (tap) over a unicast layer", Ordered, Label("tier:e2e", "runtime:netns", "layer:unicast", "layer:eth-dix", "feature:tunnel"), func() {
	lab := labName("iplantap")
	BeforeAll(func(ctx SpecContext) {
		deployTunnelLab(ctx, "../topologies/iplan-tap.yaml", lab)
	}, NodeTimeout(2*time.Minute))

	It("resolves a far host's MAC address with ARP across the tunnel", func(ctx SpecContext) {
		mac := regexp.MustCompile(`link/ether ([0-9a-f:]{17})`).FindStringSubmatch(on(ctx, lab, "h3", "ip", "link", "show", "e1"))
		Expect(mac).NotTo(BeNil())
		Expect(on(ctx, lab, "h1", "ip", "neigh", "show", "10.9.0.13")).To(BeEmpty())
		Expect(icmp(ctx, lab, "h1", "10.9.0.13", 10)).To(ContainSubstring("10 received"))
		Expect(on(ctx, lab, "h1", "ip", "neigh", "show", "10.9.0.13")).To(ContainSubstring("lladdr " + mac[1]))
		Expect(icmp(ctx, lab, "h2", "fd09::14", 10)).To(ContainSubstring("10 received"))
	}, SpecTimeout(time.Minute))

	It("carries a broadcast from one LAN to the other", func(ctx SpecContext) {
		for _, to := range []string{"h3", "h4"} {
			recv := serve(lab, to, binDir+"/kbase", "udp-recv", "0.0.0.0:9999", "-c", "1", "-t", "20s")
			time.Sleep(300 * time.Millisecond)
			on(ctx, lab, "h1", binDir+"/kbase", "udp-send", "10.9.0.255:9999", "-c", "3")
			Eventually(recv).WithTimeout(10 * time.Second).Should(gbytes.Say(`received from 10\.9\.0\.11:`))
		}
	}, SpecTimeout(time.Minute))

	It("brings the tunnel back when the server gateway's ovpn is killed and restarted: the client allocates again once its peer times out", func(ctx SpecContext) {
		pid := endPID(ctx, lab, "br", "server")
		Expect(syscall.Kill(pid, syscall.SIGKILL)).To(Succeed())
		Eventually(func() []bool { return tunnels(ctx, lab)[0].Up }).WithContext(ctx).Should(Equal([]bool{false, true}))
		start := time.Now()
		Expect(mustOTB(ctx, "tunnel", "restart", "br", "--end", "server", "--lab", lab)).To(ContainSubstring("server on g1 restarted"))
		// The client's flow is silent: after the peer timeout of its QoS
		// (120 s) the client allocates again, 1 s later.
		Eventually(func() string { return icmp(ctx, lab, "h3", "10.9.0.11", 1) }).WithContext(ctx).
			WithTimeout(170 * time.Second).WithPolling(2 * time.Second).Should(ContainSubstring("1 received"))
		GinkgoWriter.Printf("tunnel back %v after the server's restart\n", time.Since(start).Round(time.Second))
		Expect(icmp(ctx, lab, "h1", "10.9.0.14", 10)).To(ContainSubstring("10 received"))
	}, SpecTimeout(4*time.Minute))
})
