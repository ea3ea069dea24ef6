package operf

import (
	"github.com/o7s/ouroboros/tools/tooltest"

	"github.com/o7s/ouroboros/tools/internal/toolio"

	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/o7s/ouroboros/stack/dev"
	"github.com/o7s/ouroboros/stack/qos"
)

func TestMain(m *testing.M) {
	configPause = 50 * time.Millisecond // the reference's 1 s makes slow tests
	m.Run()
}

func clientConfig(test Test, d time.Duration, size int) Config {
	cfg := DefaultConfig()
	cfg.Name, cfg.Test, cfg.Duration, cfg.Size, cfg.Flood = "operf", test, d, size, true
	return cfg
}

func serverConfig(quiet bool) Config {
	cfg := DefaultConfig()
	cfg.Listen, cfg.Quiet = true, quiet
	return cfg
}

var (
	uniRE     = regexp.MustCompile(`\n--- operf perf statistics ---\n(\d+) packets transmitted, time: [0-9.]+ ms, \d+ packets/s, bandwidth: [0-9.]+ Mb/s\.\n$`)
	biRE      = regexp.MustCompile(`\n--- operf perf statistics ---\n(\d+) packets transmitted, (\d+) received, (\d+)% packet loss, time: [0-9.]+ ms, bandwidth: [0-9.]+ Mb/s\.\n$`)
	summaryRE = regexp.MustCompile(`Flow   64: +(\d+) packets \( +(\d+) bytes\) in +\d+ ms => +[0-9.]+ pps, +[0-9.]+ Mbps\n`)
)

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

func TestUniFlood(t *testing.T) {
	for _, local := range []bool{false, true} {
		t.Run(fmt.Sprintf("local=%v", local), func(t *testing.T) {
			tn := startNode(t, local)
			srvOut, stop := serve(t, serverConfig(false), tn.Srv)
			var out bytes.Buffer
			if err := Run(context.Background(), clientConfig(Uni, 200*time.Millisecond, 100), tn.Cli, &out); err != nil {
				t.Fatalf("Run: %v\n%s", err, out.String())
			}
			got := out.String()
			if !strings.HasPrefix(got, "Doing a unidirectional test.\nFlooding operf with 100 byte packets for 0 seconds.\n\nTest finished.\n") {
				t.Errorf("client:\n%s", got)
			}
			m := uniRE.FindStringSubmatch(got)
			if m == nil || atoi(m[1]) == 0 {
				t.Fatalf("client statistics:\n%s", got)
			}
			sent := atoi(m[1])
			srvOut.WaitFor(t, "Flow   64:")
			if err := stop(); err != nil {
				t.Errorf("Serve: %v", err)
			}
			s := srvOut.String()
			if !strings.HasPrefix(s, "Ouroboros perf server started.\nNew flow 64.\nDoing a unidirectional test.\nSeqno 0 from fd 64: ") {
				t.Errorf("server:\n%.300s", s)
			}
			sm := summaryRE.FindStringSubmatch(s)
			if sm == nil {
				t.Fatalf("no summary line:\n%s", s[max(len(s)-500, 0):])
			}
			rcvd := atoi(sm[1])
			// Over a direct flow nothing is lost. The local IPCP may drop
			// what is still in flight when the client deallocates.
			if rcvd > sent || !local && rcvd != sent || atoi(sm[2]) != rcvd*100 {
				t.Errorf("server got %s packets (%s bytes), the client sent %d", sm[1], sm[2], sent)
			}
			if n := len(regexp.MustCompile(`(?m)^Seqno \d+ from fd 64: \d+\.\d{6}$`).FindAllString(s, -1)); n != rcvd {
				t.Errorf("%d Seqno lines for %d packets", n, rcvd)
			}
			if !strings.Contains(s, fmt.Sprintf("\nSeqno %d from fd 64: ", rcvd-1)) {
				t.Errorf("no line for the last packet, %d", rcvd-1)
			}
			tn.WaitFlows(t, 0)
		})
	}
}

func TestBiFlood(t *testing.T) {
	for _, local := range []bool{false, true} {
		t.Run(fmt.Sprintf("local=%v", local), func(t *testing.T) {
			tn := startNode(t, local)
			srvOut, _ := serve(t, serverConfig(false), tn.Srv)
			var out bytes.Buffer
			if err := Run(context.Background(), clientConfig(Bi, 300*time.Millisecond, 1400), tn.Cli, &out); err != nil {
				t.Fatalf("Run: %v\n%s", err, out.String())
			}
			m := biRE.FindStringSubmatch(out.String())
			if !strings.HasPrefix(out.String(), "Doing a bidirectional test.\nFlooding operf with 1400 byte packets for 0 seconds.\n\n") ||
				m == nil || m[1] != m[2] || m[3] != "0" || atoi(m[1]) == 0 {
				t.Fatalf("client:\n%s", out.String())
			}
			srvOut.WaitFor(t, "Flow   64:")
			if sm := summaryRE.FindStringSubmatch(srvOut.String()); sm == nil || sm[1] != m[1] {
				t.Errorf("server:\n%s", srvOut.String())
			}
			if strings.Contains(srvOut.String(), "Seqno") {
				t.Error("the server printed Seqno lines in a bi test")
			}
			tn.WaitFlows(t, 0)
		})
	}
}

func TestPaced(t *testing.T) {
	tn := startNode(t, false)
	srvOut, _ := serve(t, serverConfig(true), tn.Srv)
	for _, sleep := range []bool{false, true} {
		cfg := clientConfig(Uni, 500*time.Millisecond, 1000)
		cfg.Flood, cfg.Rate, cfg.Sleep = false, 800_000, sleep // 100 packets/s
		var out bytes.Buffer
		start := time.Now()
		if err := Run(context.Background(), cfg, tn.Cli, &out); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("a 500 ms test took %v", d)
		}
		if !strings.HasPrefix(out.String(), "Doing a unidirectional test.\nSending 1000 byte packets for 0 s to operf at 0.800 Mb/s.\n\nTest finished.\n") {
			t.Errorf("client:\n%s", out.String())
		}
		m := uniRE.FindStringSubmatch(out.String())
		if m == nil || atoi(m[1]) < 45 || atoi(m[1]) > 51 {
			t.Errorf("sleep=%v: sent %v packets in 500 ms at 100/s:\n%s", sleep, m, out.String())
		}
	}
	if strings.Contains(srvOut.String(), "Seqno") {
		t.Error("a quiet server printed Seqno lines")
	}
}

func TestClientStopsOnCancel(t *testing.T) {
	for _, test := range []Test{Uni, Bi} {
		t.Run(test.String(), func(t *testing.T) {
			tn := startNode(t, false)
			serve(t, serverConfig(true), tn.Srv)
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			var out bytes.Buffer
			start := time.Now()
			if err := Run(ctx, clientConfig(test, time.Minute, 64), tn.Cli, &out); err != nil {
				t.Fatalf("Run: %v", err)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("stopped after %v", d)
			}
			re := map[Test]*regexp.Regexp{Uni: uniRE, Bi: biRE}[test]
			if !strings.Contains(out.String(), "Test finished.\n") || !re.MatchString(out.String()) {
				t.Errorf("output:\n%s", out.String())
			}
		})
	}
}

// TestClientServerGone: the flow goes down under a flooding client.
func TestClientServerGone(t *testing.T) {
	tn := startNode(t, false)
	_, stop := serve(t, serverConfig(true), tn.Srv)
	out := &tooltest.Buffer{}
	errc := make(chan error, 1)
	go func() { errc <- Run(context.Background(), clientConfig(Bi, time.Minute, 64), tn.Cli, out) }()
	out.WaitFor(t, "Flooding")
	stop()
	select {
	case err := <-errc:
		if !errors.Is(err, dev.ErrFlowDown) {
			t.Fatalf("Run = %v, want ErrFlowDown\n%s", err, out.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the client did not notice the server was gone")
	}
	if !biRE.MatchString(out.String()) {
		t.Errorf("output:\n%s", out.String())
	}
}

// rawClient allocates a flow to the server and writes the SDUs given.
func rawClient(t *testing.T, tn *testNode, sdus ...[]byte) *dev.Flow {
	t.Helper()
	f, err := tn.Cli.Alloc(context.Background(), "operf", qos.Raw)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	for _, b := range sdus {
		if _, err := f.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func TestServerConfig(t *testing.T) {
	tn := startNode(t, false)
	srvOut, _ := serve(t, serverConfig(false), tn.Srv)
	for _, tc := range []struct {
		sdus [][]byte
		want string
	}{
		{[][]byte{{1, 0, 0}}, "Invalid config message.\n"},
		{[][]byte{{1, 0, 0, 0, 0}}, "Invalid config message.\n"},
		{[][]byte{make([]byte, 1500)}, "Invalid config message.\n"},
		{[][]byte{{7, 0, 0, 0}}, "Invalid config message.\n"},
	} {
		f := rawClient(t, tn, tc.sdus...)
		srvOut.WaitFor(t, "New flow 64.\n"+tc.want)
		f.SetReadTimeout(2 * time.Second)
		if _, err := f.Read(make([]byte, 10)); !errors.Is(err, dev.ErrFlowDown) {
			t.Errorf("the server kept a flow with config % x: %v", tc.sdus[0], err)
		}
		f.Close()
		tn.WaitFlows(t, 0)
		srvOut.Reset()
	}
	f := rawClient(t, tn)
	f.Close() // no configuration at all
	srvOut.WaitFor(t, "New flow 64.\nFailed to read config message.\n")

	// After all that, the server still serves; and it echoes bi bytes as is.
	data := make([]byte, 200)
	for i := range data {
		data[i] = byte(i)
	}
	f = rawClient(t, tn, AppendConfig(nil, Bi), data)
	f.SetReadTimeout(2 * time.Second)
	buf := make([]byte, 1000)
	n, err := f.Read(buf)
	if err != nil || !bytes.Equal(buf[:n], data) {
		t.Fatalf("echo % x, %v", buf[:n], err)
	}
	srvOut.WaitFor(t, "Doing a bidirectional test.\n")
}

func TestServerTimesOutFlows(t *testing.T) {
	tn := startNode(t, false)
	out := &tooltest.Buffer{}
	p := toolio.NewPrinter(out)
	s, err := newServer(serverConfig(false), tn.Srv, p)
	if err != nil {
		t.Fatal(err)
	}
	s.idle, s.cleanEvery = 100*time.Millisecond, 20*time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.run(ctx) }()
	defer func() { cancel(); <-done; p.Close() }()
	pkt := make([]byte, 64)
	PutID(pkt, 7)
	f := rawClient(t, tn, AppendConfig(nil, Uni), pkt)
	out.WaitFor(t, "Seqno 7 from fd 64: ")
	out.WaitFor(t, "Flow 64 timed out.\nFlow   64:         1 packets (          64 bytes) in         0 ms =>    0.0000 pps,    0.0000 Mbps\n")
	f.SetReadTimeout(2 * time.Second)
	if _, err := f.Read(pkt); !errors.Is(err, dev.ErrFlowDown) {
		t.Errorf("read on a flow the server timed out: %v", err)
	}
}

func TestReport(t *testing.T) {
	cl := &client{cfg: clientConfig(Bi, time.Second, 1000)}
	cl.sent.Store(1000)
	cl.rcvd = 995
	var b strings.Builder
	cl.report(&b, 2*time.Second)
	want := "\n--- operf perf statistics ---\n1000 packets transmitted, 995 received, 1% packet loss, time: 2000.000 ms, bandwidth: 3.980 Mb/s.\n"
	if b.String() != want {
		t.Errorf("bi report %q, want %q", b.String(), want)
	}
	cl.cfg.Test = Uni
	b.Reset()
	cl.report(&b, 2*time.Second)
	want = "\n--- operf perf statistics ---\n1000 packets transmitted, time: 2000.000 ms, 500 packets/s, bandwidth: 4.000 Mb/s.\n"
	if b.String() != want {
		t.Errorf("uni report %q, want %q", b.String(), want)
	}
	for _, tc := range []struct{ sent, rcvd, want uint64 }{{0, 0, 0}, {100, 100, 0}, {100, 0, 100}, {1000, 995, 1}, {3, 2, 34}, {5, 9, 0}} {
		if got := lossPercent(tc.sent, tc.rcvd); got != tc.want {
			t.Errorf("lossPercent(%d, %d) = %d, want %d", tc.sent, tc.rcvd, got, tc.want)
		}
	}
}

func TestSummary(t *testing.T) {
	pe := &peer{}
	pe.n.Store(250000)
	pe.bytes.Store(250000 * 1400)
	pe.first.Store(int64(time.Second))
	pe.last.Store(int64(3 * time.Second))
	var b strings.Builder
	pe.summary(&b, 64)
	want := "Flow   64:    250000 packets (   350000000 bytes) in      2000 ms => 125000.0000 pps, 1400.0000 Mbps\n"
	if b.String() != want {
		t.Errorf("summary %q, want %q", b.String(), want)
	}
}

func TestServerEndsWhenTheNodeGoes(t *testing.T) {
	tn := startNode(t, false)
	out := &tooltest.Buffer{}
	errc := make(chan error, 1)
	go func() { errc <- Serve(context.Background(), serverConfig(true), tn.Srv, out) }()
	out.WaitFor(t, "Ouroboros perf server started.\n")
	tn.N.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, dev.ErrNode) {
			t.Errorf("Serve = %v, want ErrNode", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve still runs")
	}
	if !strings.Contains(out.String(), "Failed to accept flow.\n") {
		t.Errorf("output:\n%s", out.String())
	}
}

// A uni and a bi test over a reliable flow: every packet arrives, and both
// ends print FRCT's counters.
func TestFRCTQoS(t *testing.T) {
	n := startNode(t, false)
	out, _ := serve(t, serverConfig(true), n.Srv)
	cfg := clientConfig(Uni, 500*time.Millisecond, 1000)
	cfg.Flood, cfg.Size = true, 1000
	cfg.QoS = qos.Data
	var b bytes.Buffer
	if err := Run(context.Background(), cfg, n.Cli, &b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "FRCT: ") || !strings.Contains(b.String(), "retransmitted") {
		t.Fatalf("client output without FRCT counters:\n%s", b.String())
	}
	var sent int
	fmt.Sscanf(b.String()[strings.Index(b.String(), "---"):], "--- operf perf statistics ---\n%d packets", &sent)
	out.WaitFor(t, fmt.Sprintf("Flow   64: %9d packets", sent))
	out.WaitFor(t, "FRCT: ")

	cfg.Test = Bi
	b.Reset()
	if err := Run(context.Background(), cfg, n.Cli, &b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), " 0% packet loss") || !strings.Contains(b.String(), "FRCT: ") {
		t.Fatalf("bi test over qos data:\n%s", b.String())
	}
}
