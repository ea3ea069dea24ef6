package oping

import (
	"github.com/o7s/ouroboros/tools/internal/toolio"

	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/o7s/ouroboros/stack/dev"
	"github.com/o7s/ouroboros/stack/qos"
)

// BenchmarkRTT measures 64-byte ping-pong round trips, as oping -f does,
// over a direct flow, through the local IPCP, and over UDP on the loopback
// (the kernel's baseline, with a Go echo server), so the three compare in
// one run. Each reports the median and the 99th percentile besides the
// mean (ns/op).
func BenchmarkRTT(b *testing.B) {
	b.Run("direct", func(b *testing.B) { benchFlowRTT(b, false) })
	b.Run("local-ipcp", func(b *testing.B) { benchFlowRTT(b, true) })
	b.Run("udp-loopback", benchUDPRTT)
}

func benchFlowRTT(b *testing.B, local bool) {
	tn := startNode(b, local)
	cfg := serverConfig()
	cfg.Quiet = true
	serve(b, cfg, tn.Srv)
	f, err := tn.Cli.Alloc(context.Background(), "oping", qos.Raw)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	f.SetFlags(dev.FlagRdWr | dev.FlagRNoPart)
	p := toolio.NewPrinter(io.Discard)
	defer p.Close()
	cl := newClient(clientConfig(DefaultCount, 0), f, p)
	var h hist
	var id uint32
	b.ReportAllocs()
	for b.Loop() {
		if err := cl.send(id); err != nil {
			b.Fatal(err)
		}
		n, err := cl.w.Read(cl.buf, floodTimeout)
		now := monoNow()
		if err != nil {
			b.Fatal(err)
		}
		rtt, ok := cl.reply(n, now)
		if !ok {
			b.Fatalf("reply %d is not a reply", id)
		}
		h.record(rtt)
		id++
	}
	reportRTT(b, &h)
}

func benchUDPRTT(b *testing.B) {
	srv, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() { // echoes the way the oping server does
		defer close(done)
		buf := make([]byte, 65536)
		for {
			n, from, err := srv.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			if h, err := ParseHeader(buf[:n]); err == nil {
				h.SetType(EchoReply)
			}
			srv.WriteToUDPAddrPort(buf[:n], from)
		}
	}()
	defer func() { srv.Close(); <-done }()
	c, err := net.DialUDP("udp", nil, srv.LocalAddr().(*net.UDPAddr))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	msg, buf := make([]byte, MinSize), make([]byte, 65536)
	var h hist
	var id uint32
	b.ReportAllocs()
	for b.Loop() {
		sec, nsec := splitStamp(monoNow())
		Header(msg).Put(EchoRequest, id, sec, nsec)
		if _, err := c.Write(msg); err != nil {
			b.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(floodTimeout))
		n, err := c.Read(buf)
		now := monoNow()
		if err != nil {
			b.Fatal(err)
		}
		r, err := ParseHeader(buf[:n])
		if err != nil || r.Type() != EchoReply {
			b.Fatal(errors.New("not a reply"))
		}
		h.record(now - r.Stamp())
		id++
	}
	reportRTT(b, &h)
}

func reportRTT(b *testing.B, h *hist) {
	b.ReportMetric(float64(h.quantile(0.50))/1e3, "p50-µs")
	b.ReportMetric(float64(h.quantile(0.99))/1e3, "p99-µs")
}
