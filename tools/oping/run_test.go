package oping

import (
	"github.com/o7s/ouroboros/tools/tooltest"

	"github.com/o7s/ouroboros/tools/internal/toolio"

	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/o7s/ouroboros/stack/dev"
	"github.com/o7s/ouroboros/stack/qos"
)

func clientConfig(count uint32, interval time.Duration) Config {
	cfg := DefaultConfig()
	cfg.Name, cfg.Count, cfg.Interval = "oping", count, interval
	return cfg
}

func serverConfig() Config {
	cfg := DefaultConfig()
	cfg.Listen = true
	return cfg
}

var summaryRE = regexp.MustCompile(`rtt min/avg/max/mdev = [0-9.]+/[0-9.]+/[0-9.]+/[0-9.]+ (µs|ms)\nrtt p50/p99 = [0-9.]+/[0-9.]+ (µs|ms)\n$`)

func TestPing(t *testing.T) {
	for _, path := range []struct {
		name  string
		local bool
	}{{"direct", false}, {"local-ipcp", true}} {
		for _, mode := range []struct {
			name   string
			mutate func(*Config)
			header string
		}{
			{name: "pipelined", mutate: func(*Config) {}, header: "(100 packets):"},
			{name: "flood", mutate: func(c *Config) { c.Flood = true }, header: "(100 packets):"},
			{name: "flood-busy", mutate: func(c *Config) { c.FloodBusy = true }, header: "(100 packets, busy-poll):"},
		} {
			t.Run(path.name+"/"+mode.name, func(t *testing.T) {
				tn := startNode(t, path.local)
				srvOut, stop := serve(t, serverConfig(), tn.Srv)
				cfg := clientConfig(100, 0)
				mode.mutate(&cfg)
				var out bytes.Buffer
				if err := Run(context.Background(), cfg, tn.Cli, &out); err != nil {
					t.Fatalf("Run: %v\n%s", err, out.String())
				}
				got := out.String()
				if !strings.HasPrefix(got, "Pinging oping with 64 bytes of data "+mode.header+"\n\n") {
					t.Errorf("no header:\n%s", got)
				}
				for i := range 100 {
					if !regexp.MustCompile(fmt.Sprintf(`(?m)^64 bytes from oping: seq=%d time=[0-9]+\.[0-9]{3} (µs|ms)( \[out-of-order\])?$`, i)).MatchString(got) {
						t.Fatalf("no reply line for seq=%d:\n%s", i, got)
					}
				}
				if !strings.Contains(got, "\n\n--- oping ping statistics ---\n100 packets transmitted, 100 received, 0 out-of-order, 0% packet loss, time: ") ||
					!summaryRE.MatchString(got) {
					t.Errorf("summary:\n%s", got)
				}
				if err := stop(); err != nil {
					t.Errorf("Serve: %v", err)
				}
				if !strings.HasPrefix(srvOut.String(), "Ouroboros ping server started.\nNew flow 64.\n") {
					t.Errorf("server output:\n%s", srvOut.String())
				}
				if n := strings.Count(srvOut.String(), "Received 64 bytes on fd 64.\n"); n != 100 {
					t.Errorf("server printed %d Received lines, want 100", n)
				}
				tn.WaitFlows(t, 0)
			})
		}
	}
}

func TestPingIntervalQuietTimeOfDay(t *testing.T) {
	tn := startNode(t, false)
	serve(t, serverConfig(), tn.Srv)
	cfg := clientConfig(3, 20*time.Millisecond)
	cfg.Size, cfg.TimeOfDay = 1500, true
	var out bytes.Buffer
	start := time.Now()
	if err := Run(context.Background(), cfg, tn.Cli, &out); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 60*time.Millisecond {
		t.Errorf("3 pings at 20 ms took %v", d)
	}
	if n := len(regexp.MustCompile(`(?m)^\[\d+\.\d{6}\] 1500 bytes from oping: seq=\d time=`).FindAllString(out.String(), -1)); n != 3 {
		t.Errorf("%d reply lines with the time of day, want 3:\n%s", n, out.String())
	}

	cfg.Quiet = true
	out.Reset()
	if err := Run(context.Background(), cfg, tn.Cli, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "\n--- oping ping statistics ---\n3 packets transmitted, 3 received,") {
		t.Errorf("quiet output:\n%s", out.String())
	}
}

func TestPingQuietServer(t *testing.T) {
	tn := startNode(t, true)
	cfg := serverConfig()
	cfg.Quiet = true
	srvOut, _ := serve(t, cfg, tn.Srv)
	if err := Run(context.Background(), clientConfig(10, 0), tn.Cli, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	srvOut.WaitFor(t, "New flow 64.")
	if strings.Contains(srvOut.String(), "Received") {
		t.Errorf("quiet server printed packets:\n%s", srvOut.String())
	}
}

// Pings with the QoS specs that run FRCT (in-order delivery, and
// retransmission for data) get every reply.
func TestPingWithFRCTQoS(t *testing.T) {
	tn := startNode(t, false)
	serve(t, serverConfig(), tn.Srv)
	for _, name := range []string{"best", "video", "voice", "data"} {
		cfg := clientConfig(3, 0)
		cfg.QoS, _ = qos.ByName(name)
		var out bytes.Buffer
		if err := Run(context.Background(), cfg, tn.Cli, &out); err != nil {
			t.Errorf("qos %s: %v", name, err)
		}
		if !strings.Contains(out.String(), "3 packets transmitted, 3 received, 0 out-of-order, 0% packet loss") {
			t.Errorf("qos %s: output\n%s", name, out.String())
		}
	}
}

func TestPingUnknownName(t *testing.T) {
	tn := startNode(t, false)
	cfg := clientConfig(1, 0)
	cfg.Name = "nobody"
	var out bytes.Buffer
	if err := Run(context.Background(), cfg, tn.Cli, &out); !errors.Is(err, dev.ErrIPCP) {
		t.Errorf("err = %v, want ErrIPCP", err)
	}
	if out.String() != "Failed to allocate flow: -1003.\n" {
		t.Errorf("output %q", out.String())
	}
}

// TestPingStopsOnCancel is a signal: the client stops and prints what it
// has.
func TestPingStopsOnCancel(t *testing.T) {
	tn := startNode(t, false)
	serve(t, serverConfig(), tn.Srv)
	for _, mode := range []string{"interval", "pipelined", "flood", "flood-busy"} {
		t.Run(mode, func(t *testing.T) {
			cfg := clientConfig(DefaultCount, 10*time.Millisecond)
			switch mode {
			case "pipelined":
				cfg.Interval = 0
			case "flood":
				cfg.Flood = true
			case "flood-busy":
				cfg.FloodBusy = true
			}
			out := &tooltest.Buffer{}
			ctx, cancel := context.WithCancel(context.Background())
			errc := make(chan error, 1)
			go func() { errc <- Run(ctx, cfg, tn.Cli, out) }()
			out.WaitFor(t, "seq=3 ")
			cancel()
			select {
			case err := <-errc:
				if err != nil {
					t.Fatalf("Run after cancel: %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Run did not return after cancel")
			}
			if !regexp.MustCompile(`--- oping ping statistics ---\n\d+ packets transmitted, \d+ received`).MatchString(out.String()) {
				t.Errorf("no statistics after cancel:\n%s", out.String())
			}
		})
	}
}

// TestPingServerGone: the flow goes down under a pinging client, which
// stops with an error.
func TestPingServerGone(t *testing.T) {
	for _, local := range []bool{false, true} {
		t.Run(fmt.Sprintf("local=%v", local), func(t *testing.T) {
			tn := startNode(t, local)
			_, stop := serve(t, serverConfig(), tn.Srv)
			out := &tooltest.Buffer{}
			errc := make(chan error, 1)
			go func() {
				errc <- Run(context.Background(), clientConfig(DefaultCount, 10*time.Millisecond), tn.Cli, out)
			}()
			out.WaitFor(t, "seq=2 ")
			stop()
			select {
			case err := <-errc:
				if !errors.Is(err, dev.ErrFlowDown) {
					t.Fatalf("Run = %v, want ErrFlowDown\n%s", err, out.String())
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the client did not notice the server was gone")
			}
			if !strings.Contains(out.String(), "Failed to read packet.\n") && !strings.Contains(out.String(), "Failed to send packet.\n") {
				t.Errorf("output:\n%s", out.String())
			}
			if !strings.Contains(out.String(), "--- oping ping statistics ---") {
				t.Errorf("no statistics:\n%s", out.String())
			}
		})
	}
}

// silentServer accepts one flow and reads it without answering.
func silentServer(t *testing.T, c *dev.Client) {
	go func() {
		f, err := c.Accept(context.Background())
		if err != nil {
			return
		}
		defer f.Close()
		buf := make([]byte, dev.MaxSDU)
		for {
			if _, err := f.Read(buf); err != nil {
				return
			}
		}
	}()
}

func TestPingServerTimedOut(t *testing.T) {
	for _, flood := range []bool{false, true} {
		t.Run(fmt.Sprintf("flood=%v", flood), func(t *testing.T) {
			tn := startNode(t, false)
			silentServer(t, tn.Srv)
			cfg := clientConfig(2, 0)
			cfg.Flood = flood
			var out bytes.Buffer
			start := time.Now()
			if err := Run(context.Background(), cfg, tn.Cli, &out); err != nil {
				t.Fatal(err)
			}
			if d := time.Since(start); d < 2*time.Second || d > 4*time.Second {
				t.Errorf("timed out after %v, want 2 s", d)
			}
			want := "Server timed out.\n\n--- oping ping statistics ---\n"
			if !strings.Contains(out.String(), want) || !strings.Contains(out.String(), " 0 received, 0 out-of-order, 100% packet loss") {
				t.Errorf("output:\n%s", out.String())
			}
		})
	}
}

// TestServerWire checks the server's bytes: the request comes back whole,
// with only the type changed, and a non-request is reported, not echoed.
func TestServerWire(t *testing.T) {
	tn := startNode(t, false)
	srvOut, _ := serve(t, serverConfig(), tn.Srv)
	f, err := tn.Cli.Alloc(context.Background(), "oping", qos.Raw)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.SetReadTimeout(2 * time.Second)
	req := make([]byte, 100)
	for i := range req {
		req[i] = byte(i * 7)
	}
	Header(req).Put(EchoRequest, 42, 1, 2)
	if _, err := f.Write(req); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 2000)
	n, err := f.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	want := bytes.Clone(req)
	want[3] = 1
	if !bytes.Equal(buf[:n], want) {
		t.Fatalf("reply\n got % x\nwant % x", buf[:n], want)
	}
	for _, bad := range [][]byte{want, make([]byte, 10)} {
		if _, err := f.Write(bad); err != nil {
			t.Fatal(err)
		}
	}
	srvOut.WaitFor(t, "Received 10 bytes on fd 64.\nInvalid message on fd 64.\n")
	if !strings.Contains(srvOut.String(), "Received 100 bytes on fd 64.\nInvalid message on fd 64.\n") {
		t.Errorf("server output:\n%s", srvOut.String())
	}
	f.SetReadTimeout(100 * time.Millisecond)
	if n, err := f.Read(buf); !errors.Is(err, dev.ErrTimeout) {
		t.Errorf("the server answered a non-request: %d bytes, %v", n, err)
	}
}

func TestServerDropsIdleFlows(t *testing.T) {
	tn := startNode(t, false)
	out := &tooltest.Buffer{}
	p := toolio.NewPrinter(out)
	s, err := newServer(serverConfig(), tn.Srv, p)
	if err != nil {
		t.Fatal(err)
	}
	s.idle, s.cleanEvery = 100*time.Millisecond, 20*time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.run(ctx) }()
	defer func() { cancel(); <-done; p.Close() }()
	f, err := tn.Cli.Alloc(context.Background(), "oping", qos.Raw)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out.WaitFor(t, "New flow 64.\n")
	out.WaitFor(t, "Flow 64 timed out.\n")
	f.SetReadTimeout(2 * time.Second)
	if _, err := f.Read(make([]byte, 100)); !errors.Is(err, dev.ErrFlowDown) {
		t.Errorf("read on a flow the server dropped: %v, want ErrFlowDown", err)
	}
}

func TestServerPollAndBusy(t *testing.T) {
	for _, mode := range []string{"poll", "busy"} {
		t.Run(mode, func(t *testing.T) {
			tn := startNode(t, false)
			cfg := serverConfig()
			cfg.Poll, cfg.Busy = mode == "poll", mode == "busy"
			srvOut, stop := serve(t, cfg, tn.Srv)
			ccfg := clientConfig(50, 0)
			ccfg.Flood = true
			var out bytes.Buffer
			if err := Run(context.Background(), ccfg, tn.Cli, &out); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), "50 packets transmitted, 50 received") {
				t.Errorf("client:\n%s", out.String())
			}
			want := map[string]string{"poll": "New flow 64.\n", "busy": "Ouroboros ping server started. [busy-poll]\nNew flow 64 (busy-poll).\n"}[mode]
			srvOut.WaitFor(t, want)
			if err := stop(); err != nil {
				t.Errorf("Serve: %v", err)
			}
		})
	}
}

func TestServerManyFlows(t *testing.T) {
	tn := startNode(t, false)
	cfg := serverConfig()
	cfg.Quiet = true
	serve(t, cfg, tn.Srv)
	errc := make(chan error, 8)
	for range 8 {
		go func() {
			var out bytes.Buffer
			err := Run(context.Background(), clientConfig(200, 0), tn.Cli, &out)
			if err == nil && !strings.Contains(out.String(), "200 packets transmitted, 200 received") {
				err = fmt.Errorf("output:\n%s", out.String())
			}
			errc <- err
		}()
	}
	for range 8 {
		if err := <-errc; err != nil {
			t.Error(err)
		}
	}
}

func TestServerEndsWhenTheNodeGoes(t *testing.T) {
	tn := startNode(t, false)
	out := &tooltest.Buffer{}
	errc := make(chan error, 1)
	go func() { errc <- Serve(context.Background(), serverConfig(), tn.Srv, out) }()
	out.WaitFor(t, "Ouroboros ping server started.\n")
	tn.N.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, dev.ErrNode) {
			t.Errorf("Serve = %v, want ErrNode", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve still runs")
	}
	if !strings.Contains(out.String(), "Failed to accept flow: -1002 \n") {
		t.Errorf("output:\n%s", out.String())
	}
}
