package sim

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/o7s/ouroboros/stack/dev"
	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/stack/qos"
)

// line builds nodes n0..n(hops) in a line with a unicast layer over it,
// an echo server for "echo" on the last node registered in the unicast
// layer, and one for "shim" registered in the eth layer of the last link
// (one hop, no unicast layer).
func line(b *testing.B, hops int, conf *ipcp.UnicastConfig) *Net {
	n := New(b)
	for i := 0; i <= hops; i++ {
		n.AddNode(fmt.Sprintf("n%d", i))
		if i > 0 {
			n.Connect(n.Nodes[i-1], n.Nodes[i])
		}
	}
	if err := n.Layer("net", conf); err != nil {
		b.Fatal(err)
	}
	last := n.Nodes[hops]
	echoServer(b, last, "net", "echo")
	// the shim alone: a server registered in the eth layer of the last link
	serveEcho(b, last, "shim", last.lower[n.Links[len(n.Links)-1].Layer])
	return n
}

func reportRTT(b *testing.B, f *dev.Flow) {
	buf := make([]byte, 64)
	r := make([]byte, 128)
	var rtts []time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		t0 := time.Now()
		if _, err := f.Write(buf); err != nil {
			b.Fatal(err)
		}
		f.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, err := f.Read(r); err != nil {
			b.Fatal(err)
		}
		rtts = append(rtts, time.Since(t0))
	}
	sort.Slice(rtts, func(i, j int) bool { return rtts[i] < rtts[j] })
	b.ReportMetric(float64(rtts[len(rtts)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(rtts[len(rtts)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkRTT: ping-pong round trips of 64 bytes through the unicast
// layer across 1 and 3 hops, and through the eth shim alone (one hop).
func BenchmarkRTT(b *testing.B) {
	for _, hops := range []int{1, 3} {
		b.Run(fmt.Sprintf("unicast-%dhop", hops), func(b *testing.B) {
			n := line(b, hops, nil)
			reportRTT(b, dial(b, n.Nodes[0], "echo"))
		})
	}
	b.Run("shim-1hop", func(b *testing.B) {
		n := line(b, 1, nil)
		reportRTT(b, dial(b, n.Nodes[0], "shim"))
	})
}

// BenchmarkAlloc: flow allocation across 1 and 3 hops (directory answer
// cached after the first), next to a ping round trip on the same path.
func BenchmarkAlloc(b *testing.B) {
	for _, hops := range []int{1, 3} {
		b.Run(fmt.Sprintf("%dhop", hops), func(b *testing.B) {
			n := line(b, hops, nil)
			first := n.Nodes[0]
			dial(b, first, "echo").Close() // warm the directory
			c, err := dev.DialAs(context.Background(), first.Sock, "allocator")
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			b.ResetTimer()
			for b.Loop() {
				f, err := c.Alloc(context.Background(), "echo", qos.Raw)
				if err != nil {
					b.Fatal(err)
				}
				f.Close()
			}
		})
	}
}

// BenchmarkThroughput: one-way 64- and 1400-byte SDUs as fast as the
// sender can write, counted at the receiver, through the unicast layer
// across 1 and 3 hops and through the shim alone. cpu-µs/echo is the
// process's CPU time (every node, both ends; the 500 ms the receiver
// waits for stragglers included, idle) per SDU that came back.
func BenchmarkThroughput(b *testing.B) {
	for _, size := range []int{64, 1400} {
		for _, c := range []struct {
			name string
			hops int
			dst  string
		}{{"unicast-1hop", 1, "echo"}, {"unicast-3hop", 3, "echo"}, {"shim-1hop", 1, "shim"}} {
			b.Run(fmt.Sprintf("%s-%dB", c.name, size), func(b *testing.B) {
				n := line(b, c.hops, nil)
				f := dial(b, n.Nodes[0], c.dst)
				got := make(chan int, 1)
				go func() { // the echo comes back: count it
					r := make([]byte, 2048)
					k := 0
					for {
						f.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
						if _, err := f.Read(r); err != nil {
							got <- k
							return
						}
						k++
					}
				}()
				buf := make([]byte, size)
				start, cpu0 := time.Now(), cpuTime()
				sent := 0
				for b.Loop() {
					if _, err := f.Write(buf); err != nil {
						b.Fatal(err)
					}
					sent++
				}
				k := <-got
				el := time.Since(start) - 500*time.Millisecond
				b.ReportMetric(float64(k)/el.Seconds(), "echoed-pps")
				b.ReportMetric(100*float64(sent-k)/float64(sent), "lost-%")
				if k > 0 { // every node's and both ends' work, sent and echoed
					b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(k), "cpu-µs/echo")
				}
			})
		}
	}
}

// BenchmarkPriority: ping round trips of 64 bytes from s2 to s3 through a
// hub, while s1 floods s4 through the same hub with 1400-byte SDUs as fast
// as it can write (no congestion avoidance): the two share the hub, not
// its outgoing flows. In "best-effort" every
// adjacency is in the best-effort cube, and the hub's readers forward
// their own packets; in "voice" the ping's adjacencies (s2-hub, s3-hub)
// are in the voice cube, and the hub's scheduler takes them before the
// flood. "idle" is the ping without the flood.
func BenchmarkPriority(b *testing.B) {
	for _, c := range []struct {
		name  string
		flood bool
		ping  qos.Spec
	}{{"idle", false, qos.Raw}, {"best-effort", true, qos.Raw}, {"voice", true, qos.RawVoice}} {
		b.Run(c.name, func(b *testing.B) {
			n := New(b)
			hub, s1, s2, s3, s4 := n.AddNode("hub"), n.AddNode("s1"), n.AddNode("s2"), n.AddNode("s3"), n.AddNode("s4")
			n.Connect(s1, hub)
			n.Connect(s4, hub)
			n.Connect(s2, hub).DTQoS = c.ping
			n.Connect(s3, hub).DTQoS = c.ping
			if err := n.Layer("net", &ipcp.UnicastConfig{Cong: ipcp.CongNone}); err != nil {
				b.Fatal(err)
			}
			echoServer(b, s3, "net", "echo")
			sinkServer(b, s4, "net", "sink")
			ping := dial(b, s2, "echo")
			if c.flood {
				f := dial(b, s1, "sink")
				stop := make(chan struct{})
				defer close(stop)
				go func() {
					buf := make([]byte, 1400)
					for {
						select {
						case <-stop:
							return
						default:
						}
						if _, err := f.Write(buf); err != nil {
							return
						}
					}
				}()
				// Warm-up, not a wait for an event: the flood runs for a
				// while so that the queues in the hub node are full when
				// the measurement starts (no counter tells when they are).
				time.Sleep(100 * time.Millisecond)
			}
			reportRTT(b, ping)
		})
	}
}
