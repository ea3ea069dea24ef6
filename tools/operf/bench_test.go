package operf

import (
	"github.com/o7s/ouroboros/tools/internal/toolio"

	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/o7s/ouroboros/stack/qos"
)

// BenchmarkThroughput floods one-way, as operf -t uni -f does, over a
// direct flow and through the local IPCP, with 64 and 1400 byte packets,
// and counts at the server (the tool's own, quiet), as the reference
// measurements do. It reports packets/s and Mbit/s from the first packet
// sent to the last one counted; ns/op is the time per packet.
func BenchmarkThroughput(b *testing.B) {
	for _, path := range []struct {
		name  string
		local bool
	}{{"direct", false}, {"local-ipcp", true}} {
		for _, size := range []int{64, 1400} {
			b.Run(fmt.Sprintf("%s/%dB", path.name, size), func(b *testing.B) { benchThroughput(b, path.local, size, qos.Raw) })
		}
		// The same flood over FRCT, next to raw: best effort (ordered)
		// and data (reliable: acknowledgements, retransmission buffers).
		for _, q := range []string{"best", "data"} {
			qs, _ := qos.ByName(q)
			b.Run(fmt.Sprintf("%s/1400B/%s", path.name, q), func(b *testing.B) { benchThroughput(b, path.local, 1400, qs) })
		}
	}
}

func benchThroughput(b *testing.B, local bool, size int, qs qos.Spec) {
	tn := startNode(b, local)
	p := toolio.NewPrinter(io.Discard)
	s, err := newServer(serverConfig(true), tn.Srv, p)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.run(ctx) }()
	defer func() { cancel(); <-done; p.Close() }()
	f, err := tn.Cli.Alloc(context.Background(), "operf", qs)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(AppendConfig(nil, Uni)); err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, size)
	base := s.rx.Load()
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		PutID(buf, uint32(i))
		if _, err := f.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
	for s.rx.Load()-base < uint64(b.N) {
		if time.Since(start) > time.Minute {
			b.Fatalf("the server counted %d of %d packets", s.rx.Load()-base, b.N)
		}
		// A tight poll, not internal/wait: the time the last packet is
		// counted ends the measurement, so the poll must not add to it.
		time.Sleep(20 * time.Microsecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "pps")
	b.ReportMetric(float64(b.N)*float64(size)*8/elapsed.Seconds()/1e6, "Mbit/s")
}
