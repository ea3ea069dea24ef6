package eth_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/stack/ipcp/eth/ethtest"
)

const benchSDU = 1000

// BenchmarkHubPingPong moves one SDU at a time from application to
// application through two IPCPs and the in-memory hub: every goroutine
// hand-off of the data path, no batching. allocs/op counts the whole path.
func BenchmarkHubPingPong(b *testing.B) {
	for _, typ := range []ipcp.Type{ipcp.EthDIX, ipcp.EthLLC} {
		b.Run(typ.String(), func(b *testing.B) {
			hub := ethtest.NewHub()
			pa, ia, _ := newIPCP(b, hub, typ, "a0", 1500)
			pb, ib, _ := newIPCP(b, hub, typ, "b0", 1500)
			fp := allocate(b, pa, pb, ia, ib)
			sdu, buf := make([]byte, benchSDU), make([]byte, 2048)
			b.SetBytes(benchSDU)
			b.ReportAllocs()
			start := time.Now()
			for b.Loop() {
				if err := fp.appA.Write(sdu); err != nil {
					b.Fatal(err)
				}
				if _, err := fp.appB.Read(buf); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "sdu/s")
		})
	}
}

// BenchmarkHubStream streams SDUs on 1 or 8 flows at once, with up to
// 512 in flight in all (the receivers return credit as they read), so the
// hub's receive queue of 1024 does not overflow. It reports the rate and how many frames the writer
// hands the link per call: with several flows it batches.
func BenchmarkHubStream(b *testing.B) {
	for _, typ := range []ipcp.Type{ipcp.EthDIX, ipcp.EthLLC} {
		for _, nflows := range []int{1, 8} {
			b.Run(fmt.Sprintf("%v/flows=%d", typ, nflows), func(b *testing.B) {
				hub := ethtest.NewHub()
				pa, ia, _ := newIPCP(b, hub, typ, "a0", 1500)
				pb, ib, _ := newIPCP(b, hub, typ, "b0", 1500)
				var fps []flowPair
				for range nflows {
					fps = append(fps, allocate(b, pa, pb, ia, ib))
				}
				b.SetBytes(benchSDU)
				b.ReportAllocs()
				f0, w0 := pa.Stats.TxFrames.Load(), pa.Stats.TxWrites.Load()
				b.ResetTimer()
				start := time.Now()
				var wg sync.WaitGroup
				for i, fp := range fps {
					n := b.N / nflows
					if i < b.N%nflows {
						n++
					}
					wg.Go(func() { streamFlow(b, fp, n, 512/nflows) })
				}
				wg.Wait()
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "sdu/s")
				b.ReportMetric(float64(pa.Stats.TxFrames.Load()-f0)/float64(max(pa.Stats.TxWrites.Load()-w0, 1)), "frames/write")
				b.ReportMetric(float64(hub.Stats.DropFull.Load()+pb.Stats.DropFlowFull.Load()), "drops")
			})
		}
	}
}

// streamFlow sends n SDUs on a flow and reads them at the other end, with
// at most window in flight.
func streamFlow(b *testing.B, fp flowPair, n, window int) {
	credit := make(chan struct{}, window)
	go func() {
		sdu := make([]byte, benchSDU)
		for range n {
			credit <- struct{}{}
			fp.appA.Write(sdu)
		}
	}()
	buf := make([]byte, 2048)
	for i := range n {
		fp.appB.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := fp.appB.Read(buf); err != nil {
			b.Errorf("SDU %d of %d: %v", i, n, err)
			return
		}
		<-credit
	}
}
