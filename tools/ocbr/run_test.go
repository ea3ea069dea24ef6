package ocbr

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/o7s/ouroboros/stack/dev"
	"github.com/o7s/ouroboros/stack/qos"
	"github.com/o7s/ouroboros/tools/tooltest"
)

var (
	sentRE   = regexp.MustCompile(`(?m)^sent statistics: +(\d+) packets, +(\d+) bytes in +(\d+) ms, \d+\.\d{4} Mb/s$`)
	reportRE = regexp.MustCompile(`(?m)^Flow   64: +(\d+) packets \( +(\d+) bytes\) in +\d+ ms => +\d+\.\d{4} pps, +\d+\.\d{4} Mbps$`)
	frctRE   = regexp.MustCompile(`(?m)^      FRCT: +\d+ retransmissions, +\d+ duplicates$`)
)

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

// sent is what the client's statistics say it sent.
func sent(t *testing.T, out string) int {
	t.Helper()
	m := sentRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no statistics:\n%s", out)
	}
	return atoi(m[1])
}

// received adds up the server's reports on flow 64: packets and bytes,
// and the number of reports.
func received(s string) (packets, bytes, reports int) {
	for _, m := range reportRE.FindAllStringSubmatch(s, -1) {
		packets += atoi(m[1])
		bytes += atoi(m[2])
		reports++
	}
	return packets, bytes, reports
}

// TestPaced runs a paced client for about a second and checks the server
// counted every packet it sent: over a direct flow and through the local
// IPCP, raw (the reference's) and with QoS data (FRCT, ours), asleep and
// spinning between packets.
func TestPaced(t *testing.T) {
	for _, tc := range []struct {
		name  string
		local bool
		qos   string
		spin  bool
		d     time.Duration
	}{
		{"raw/local", true, "raw", false, time.Second},
		{"data/local", true, "data", false, time.Second},
		{"raw/direct/spin", false, "raw", true, 300 * time.Millisecond},
		{"voice/direct", false, "voice", false, 300 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tn := startNode(t, tc.local)
			srvOut, _ := serve(t, tn, serverConfig(250*time.Millisecond, 300*time.Millisecond))
			cfg := clientConfig(tc.d, 1000, 800_000) // 100 packets/s
			cfg.QoS, _ = qos.ByName(tc.qos)
			cfg.Spin = tc.spin
			var out bytes.Buffer
			start := time.Now()
			if err := Run(context.Background(), cfg, tn.Cli, &out); err != nil {
				t.Fatalf("Run: %v\n%s", err, out.String())
			}
			if d := time.Since(start); d < tc.d || d > tc.d+time.Second {
				t.Errorf("a %v test took %v", tc.d, d)
			}
			want := fmt.Sprintf("Client started, duration %d, rate 800000 b/s, size 1000 B.\n", tc.d/time.Second)
			if !strings.HasPrefix(out.String(), want) {
				t.Errorf("client:\n%s", out.String())
			}
			n := sent(t, out.String())
			if perSecond := float64(n) / tc.d.Seconds(); perSecond < 90 || perSecond > 103 {
				t.Errorf("sent %d packets in %v at 100/s", n, tc.d)
			}
			if m := sentRE.FindStringSubmatch(out.String()); atoi(m[2]) != n*1000 || atoi(m[3]) < int(tc.d.Milliseconds()) {
				t.Errorf("statistics: %s", m[0])
			}
			if got := len(frctRE.FindAllString(out.String(), -1)); got != map[bool]int{true: 0, false: 1}[tc.qos == "raw"] {
				t.Errorf("%d FRCT lines from the client:\n%s", got, out.String())
			}

			srvOut.WaitFor(t, "Test on flow 64 timed out\nFlow   64: ")
			s := srvOut.String()
			if !strings.HasPrefix(s, "Server started, interval is 0 s, timeout is 0 s.\nNew flow.\n") {
				t.Errorf("server:\n%s", s)
			}
			packets, bytes, reports := received(s)
			if packets != n || bytes != n*1000 {
				t.Errorf("the server counted %d packets (%d bytes), the client sent %d:\n%s", packets, bytes, n, s)
			}
			if min := int(tc.d / (250 * time.Millisecond)); reports < min {
				t.Errorf("%d reports in %v at one every 250 ms:\n%s", reports, tc.d, s)
			}
			if frct := len(frctRE.FindAllString(s, -1)); tc.qos == "raw" && frct != 0 || tc.qos != "raw" && frct != reports {
				t.Errorf("%d FRCT lines for %d reports, QoS %s:\n%s", frct, reports, tc.qos, s)
			}
			tn.WaitFlows(t, 0)
		})
	}
}

// TestFlood floods for a while; the server counts every packet on a direct
// flow and with QoS data, and no more than were sent through the local
// IPCP, which may drop what is in flight when the client deallocates.
func TestFlood(t *testing.T) {
	for _, tc := range []struct {
		name  string
		local bool
		qos   qos.Spec
		exact bool
	}{
		{"raw/direct", false, qos.Raw, true},
		{"raw/local", true, qos.Raw, false},
		{"data/local", true, qos.Data, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tn := startNode(t, tc.local)
			srvOut, _ := serve(t, tn, serverConfig(time.Second, 300*time.Millisecond))
			cfg := clientConfig(300*time.Millisecond, 1400, 1000)
			cfg.Flood, cfg.QoS = true, tc.qos
			var out bytes.Buffer
			if err := Run(context.Background(), cfg, tn.Cli, &out); err != nil {
				t.Fatalf("Run: %v\n%s", err, out.String())
			}
			if !strings.HasPrefix(out.String(), "Client started, duration 0, rate 1000 b/s, size 1400 B.\nsent statistics: ") {
				t.Errorf("client:\n%s", out.String())
			}
			n := sent(t, out.String())
			if n < 10 { // 1000 b/s paced would be 0 packets
				t.Errorf("flooded %d packets in 300 ms", n)
			}
			srvOut.WaitFor(t, "Test on flow 64 timed out\nFlow   64: ")
			packets, bytes, _ := received(srvOut.String())
			if packets > n || tc.exact && packets != n || bytes != packets*1400 {
				t.Errorf("the server counted %d packets (%d bytes), the client sent %d", packets, bytes, n)
			}
		})
	}
}

// TestWire reads the client's packets itself: paced packets carry their
// sequence numbers from 0, flood packets are not stamped.
func TestWire(t *testing.T) {
	tn := startNode(t, false)
	for _, flood := range []bool{false, true} {
		cfg := clientConfig(100*time.Millisecond, 20, 16000) // 100 packets/s
		cfg.Flood = flood
		var out bytes.Buffer
		done := make(chan error, 1)
		go func() { done <- Run(context.Background(), cfg, tn.Cli, &out) }()
		f, err := tn.Srv.Accept(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		f.SetReadTimeout(2 * time.Second)
		buf := make([]byte, 100)
		var i int
		for ; ; i++ {
			n, err := f.Read(buf)
			if errors.Is(err, dev.ErrFlowDown) {
				break
			}
			if err != nil || n != 20 {
				t.Fatalf("flood %v: packet %d: %d bytes, %v", flood, i, n, err)
			}
			seq, _ := Seqno(buf[:n])
			if !flood && seq != int64(i) || flood && !bytes.Equal(buf[:n], make([]byte, 20)) {
				t.Fatalf("flood %v: packet %d is % x", flood, i, buf[:n])
			}
		}
		f.Close()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if n := sent(t, out.String()); n != i || n == 0 {
			t.Errorf("flood %v: read %d packets, the client sent %d", flood, i, n)
		}
	}
}

// TestFloodEndsOnTime: a flood into a flow nobody reads ends a second
// after the duration, though its last write is blocked.
func TestFloodEndsOnTime(t *testing.T) {
	tn := startNode(t, false)
	go func() {
		f, err := tn.Srv.Accept(context.Background())
		if err == nil {
			t.Cleanup(func() { f.Close() })
		}
	}()
	cfg := clientConfig(300*time.Millisecond, 1000, 1000)
	cfg.Flood = true
	var out bytes.Buffer
	start := time.Now()
	if err := Run(context.Background(), cfg, tn.Cli, &out); err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	if d := time.Since(start); d < 1300*time.Millisecond || d > 3*time.Second {
		t.Errorf("a 300 ms flood into a stuck flow took %v", d)
	}
	if n := sent(t, out.String()); n == 0 {
		t.Errorf("output:\n%s", out.String())
	}
}

// TestTimeout: a flow that falls silent ends its test after the timeout,
// with the timed-out line, then the last report; the server deallocates
// it.
func TestTimeout(t *testing.T) {
	tn := startNode(t, false)
	srvOut, _ := serve(t, tn, serverConfig(time.Minute, 300*time.Millisecond))
	f, err := tn.Cli.Alloc(context.Background(), "ocbr", qos.Raw)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for range 3 {
		if _, err := f.Write(make([]byte, 1000)); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	srvOut.WaitFor(t, "Test on flow 64 timed out\n")
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Errorf("timed out after %v, the timeout is 300 ms", d)
	}
	srvOut.WaitFor(t, "\nFlow   64: ")
	re := regexp.MustCompile(`^Server started, interval is 60 s, timeout is 0 s\.\nNew flow\.\nTest on flow 64 timed out\nFlow   64:         3 packets \(        3000 bytes\) in +\d+ ms => +\d+\.\d{4} pps, +\d+\.\d{4} Mbps\n$`)
	if !re.MatchString(srvOut.String()) {
		t.Errorf("server:\n%q", srvOut.String())
	}
	f.SetReadTimeout(2 * time.Second)
	if _, err := f.Read(make([]byte, 10)); !errors.Is(err, dev.ErrFlowDown) {
		t.Errorf("read on a flow the server timed out: %v", err)
	}
}

// TestMaxFlows: the server tests MaxFlows flows at once, and takes the
// next when one of them ends.
func TestMaxFlows(t *testing.T) {
	tn := startNode(t, false)
	srvOut, _ := serve(t, tn, serverConfig(time.Minute, 2*time.Second))
	var flows []*dev.Flow
	defer func() {
		for _, f := range flows {
			f.Close()
		}
	}()
	for range MaxFlows {
		f, err := tn.Cli.Alloc(context.Background(), "ocbr", qos.Raw)
		if err != nil {
			t.Fatal(err)
		}
		flows = append(flows, f)
	}
	srvOut.WaitFor(t, strings.Repeat("New flow.\n", MaxFlows)+"Can't accept any more flows, waiting.\n")
	// Nobody accepts: the node gives up on the request (after a second).
	if f, err := tn.Cli.Alloc(context.Background(), "ocbr", qos.Raw); err == nil {
		f.Close()
		t.Fatalf("an eleventh flow was accepted:\n%s", srvOut.String())
	}
	if strings.Count(srvOut.String(), "New flow.") != MaxFlows {
		t.Fatalf("server:\n%s", srvOut.String())
	}
	// The first ten time out; then there is room again.
	if !waitFor(10*time.Second, func() bool { return strings.Count(srvOut.String(), "timed out") == MaxFlows }) {
		t.Fatalf("server:\n%s", srvOut.String())
	}
	f, err := tn.Cli.Alloc(context.Background(), "ocbr", qos.Raw)
	if err != nil {
		t.Fatal(err)
	}
	flows = append(flows, f)
	if !waitFor(5*time.Second, func() bool { return strings.Count(srvOut.String(), "New flow.") == MaxFlows+1 }) {
		t.Fatalf("server:\n%s", srvOut.String())
	}
}

func waitFor(d time.Duration, ok func() bool) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if ok() {
			return true
		}
	}
	return ok()
}

// TestClientStopsOnCancel is a signal: the client stops at once, whatever
// it was doing, and prints its statistics.
func TestClientStopsOnCancel(t *testing.T) {
	tn := startNode(t, false)
	serve(t, tn, serverConfig(time.Second, time.Second))
	for _, tc := range []struct {
		name  string
		rate  int64
		flood bool
		spin  bool
	}{
		{"flood", 1000, true, false},
		{"sleep through a long gap", 1, false, false}, // 8000 s between packets
		{"spin", 80_000, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := clientConfig(time.Minute, 1000, tc.rate)
			cfg.Flood, cfg.Spin = tc.flood, tc.spin
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			var out bytes.Buffer
			start := time.Now()
			if err := Run(ctx, cfg, tn.Cli, &out); err != nil {
				t.Fatalf("Run: %v", err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("stopped after %v", d)
			}
			if n := sent(t, out.String()); n < 1 {
				t.Errorf("output:\n%s", out.String())
			}
		})
	}
}

// TestClientWriteFails: a size the flow cannot carry ends the test at the
// first write, with the statistics and the reason.
func TestClientWriteFails(t *testing.T) {
	tn := startNode(t, false)
	serve(t, tn, serverConfig(time.Second, time.Second))
	var out bytes.Buffer
	err := Run(context.Background(), clientConfig(time.Second, dev.MaxSDU+1, 1000), tn.Cli, &out)
	if !errors.Is(err, dev.ErrMsgSize) {
		t.Errorf("Run = %v, want ErrMsgSize", err)
	}
	if want := "Client started, duration 1, rate 1000 b/s, size 65536 B.\nsent statistics:         0 packets,            0 bytes in "; !strings.HasPrefix(out.String(), want) {
		t.Errorf("output:\n%s", out.String())
	}
}

func TestClientNoServer(t *testing.T) {
	tn := startNode(t, false)
	cfg := clientConfig(time.Second, 100, 1000)
	cfg.Name = "nobody"
	var out bytes.Buffer
	if err := Run(context.Background(), cfg, tn.Cli, &out); !errors.Is(err, dev.ErrIPCP) {
		t.Errorf("err = %v, want ErrIPCP", err)
	}
	if want := "Client started, duration 1, rate 1000 b/s, size 100 B.\nFailed to allocate flow.\n"; out.String() != want {
		t.Errorf("output %q, want %q", out.String(), want)
	}
}

func TestReports(t *testing.T) {
	var b strings.Builder
	cl := &client{cfg: clientConfig(time.Minute, 1000, 1000), sent: 2500}
	cl.reportLine(&b, 2*time.Second+700*time.Microsecond)
	if want := "sent statistics:      2500 packets,      2500000 bytes in      2000 ms, 10.0000 Mb/s\n"; b.String() != want {
		t.Errorf("client %q, want %q", b.String(), want)
	}
	b.Reset()
	cl.reportLine(&b, 0)
	if want := "sent statistics:      2500 packets,      2500000 bytes in         0 ms, 0.0000 Mb/s\n"; b.String() != want {
		t.Errorf("client in 0 ms %q, want %q", b.String(), want)
	}
	b.Reset()
	start := time.Now()
	ts := &test{since: start, packets: 250000, bytes: 250000 * 1400}
	ts.reportLine(&b, 64, start.Add(2*time.Second))
	if want := "Flow   64:    250000 packets (   350000000 bytes) in      2000 ms => 125000.0000 pps, 1400.0000 Mbps\n"; b.String() != want {
		t.Errorf("server %q, want %q", b.String(), want)
	}
	b.Reset()
	printFRCT(&b, 12, 3)
	if want := "      FRCT:        12 retransmissions,         3 duplicates\n"; b.String() != want {
		t.Errorf("FRCT %q, want %q", b.String(), want)
	}
}

func TestServerEndsWhenTheNodeGoes(t *testing.T) {
	tn := startNode(t, false)
	out := &tooltest.Buffer{}
	errc := make(chan error, 1)
	go func() { errc <- Serve(context.Background(), serverConfig(time.Second, time.Second), tn.Srv, out) }()
	out.WaitFor(t, "Server started, interval is 1 s, timeout is 1 s.\n")
	tn.N.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, dev.ErrNode) {
			t.Errorf("Serve = %v, want ErrNode", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve still runs")
	}
	if !strings.HasSuffix(out.String(), "Failed to accept flow.\n") {
		t.Errorf("output:\n%s", out.String())
	}
}

// TestServerStopsOnCancel: the tests under way end with the server, which
// deallocates their flows.
func TestServerStopsOnCancel(t *testing.T) {
	tn := startNode(t, false)
	srvOut, stop := serve(t, tn, serverConfig(time.Minute, time.Minute))
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); wg.Wait() }()
	wg.Go(func() { Run(ctx, clientConfig(time.Minute, 100, 80_000), tn.Cli, &bytes.Buffer{}) })
	srvOut.WaitFor(t, "New flow.\n")
	start := time.Now()
	if err := stop(); err != nil {
		t.Errorf("Serve = %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Serve took %v to stop", d)
	}
	tn.WaitFlows(t, 0)
}
