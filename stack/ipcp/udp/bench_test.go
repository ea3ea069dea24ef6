package udp

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/o7s/ouroboros/stack/ipcp"
)

// The data-path benchmark moves SDUs from an application end on node A,
// through A's writer, a UDP datagram over the loopback, B's reader, to the
// application end on node B, with up to window SDUs in flight. Next to it
// the kernel baseline sends the same datagrams between two plain UDP
// sockets, one write and one read system call each. Both report
// datagrams/s and the datagrams lost (to full queues) besides ns/op (one
// op = one SDU) and allocs/op (every goroutine, x/net included).
//
//	go test -run '^$' -bench . -benchmem ./stack/ipcp/udp/

const window = 64

var benchSizes = []int{64, 1400, MaxSDU4}

func BenchmarkDataPath(b *testing.B) { benchDataPath(b, false) }

// BenchmarkDataPathXNet receives with x/net's ReadBatch, the portable
// receiver, instead of our recvmmsg.
func BenchmarkDataPathXNet(b *testing.B) { benchDataPath(b, true) }

func benchDataPath(b *testing.B, portable bool) {
	for _, size := range benchSizes {
		b.Run(sizeName(size), func(b *testing.B) {
			a, z, pa, pb := benchFlow(b, portable)
			pump(b, size, func(p []byte) error { return a.end.Write(p) }, func(p []byte) (int, error) { return z.end.Read(p) },
				func(d time.Time) { z.end.SetReadDeadline(d) })
			if testing.Verbose() {
				b.Logf("A: %s", statsLine(&pa.Stats))
				b.Logf("B: %s", statsLine(&pb.Stats))
			}
		})
	}
}

func BenchmarkKernelUDP(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(sizeName(size), func(b *testing.B) {
			rx := listen(b, lo("127.0.0.2", 0))
			rx.SetReadBuffer(socketBuffer)
			tx, err := net.DialUDP("udp4", nil, rx.LocalAddr().(*net.UDPAddr))
			if err != nil {
				b.Fatal(err)
			}
			defer tx.Close()
			pump(b, EIDLen+size, func(p []byte) error { _, err := tx.Write(p); return err }, rx.Read,
				func(d time.Time) { rx.SetReadDeadline(d) })
		})
	}
}

func sizeName(size int) string {
	return map[int]string{64: "64B", 1400: "1400B", MaxSDU4: "max"}[size]
}

type benchEnd struct {
	end interface {
		Write([]byte) error
		Read([]byte) (int, error)
		SetReadDeadline(time.Time) error
	}
}

// benchFlow allocates a flow between two udp4 IPCPs on 127.0.0.1 and
// 127.0.0.2, through their management exchange, and returns the two
// application ends.
func benchFlow(b *testing.B, portable bool) (benchEnd, benchEnd, *IPCP, *IPCP) {
	for range 10 {
		irmA, irmB := newFakeIRM(), newFakeIRM()
		pa := bootstrap(b, ipcp.UDP4, irmA, lo("127.0.0.1", 0), func(p *IPCP, _ *ipcp.UDPConfig) { p.portable = portable })
		pb := newIPCP(ipcp.UDP4, 2, irmB, testLog(b))
		pb.portable = portable
		conf := &ipcp.UDPConfig{Addr: netip.MustParseAddr("127.0.0.2"), Port: pa.LocalAddr().Port()}
		if _, err := pb.Bootstrap(context.Background(), ipcp.Config{Layer: "udp", UDP: conf}); err != nil {
			pa.Close()
			continue
		}
		b.Cleanup(func() { pb.Close() })
		pb.Reg(srvHash)
		pa.AddStatic(srvHash, netip.MustParseAddr("127.0.0.2"))
		fl, appA := irmA.pair(b)
		if err := pa.FlowAlloc(context.Background(), fl, srvHash, nil); err != nil {
			b.Fatal(err)
		}
		r := <-irmB.reqs
		if err := pb.FlowAllocResp(context.Background(), r.key, nil, nil); err != nil {
			b.Fatal(err)
		}
		if rep := <-irmA.replies; rep.err != nil {
			b.Fatal(rep.err)
		}
		appB := irmB.app(r.key)
		appA.SetBuffer(socketBuffer)
		appB.SetBuffer(socketBuffer)
		return benchEnd{appA}, benchEnd{appB}, pa, pb
	}
	b.Fatal("no port free on both 127.0.0.1 and 127.0.0.2")
	return benchEnd{}, benchEnd{}, nil, nil
}

// pump writes b.N messages of size bytes from a goroutine, at most window
// ahead of the reads, and reads them. When a read waits 100 ms, whatever
// is outstanding is counted lost and its credit returned.
func pump(b *testing.B, size int, write func([]byte) error, read func([]byte) (int, error), deadline func(time.Time)) {
	credit := make(chan struct{}, window)
	for range window {
		credit <- struct{}{}
	}
	var sent atomic.Int64
	stop := make(chan struct{})
	done := make(chan struct{})
	msg := make([]byte, size)
	buf := make([]byte, MaxPacket4+1)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	go func() {
		defer close(done)
		for range b.N {
			select {
			case <-credit:
			case <-stop:
				return
			}
			if write(msg) != nil {
				return
			}
			sent.Add(1)
		}
	}()
	got, lost := 0, 0
	for got+lost < b.N {
		deadline(time.Now().Add(100 * time.Millisecond))
		if _, err := read(buf); err == nil {
			got++
			credit <- struct{}{}
			continue
		}
		out := int(sent.Load()) - got - lost
		if out == 0 && !isDone(done) {
			continue // the writer is slow, not lossy
		}
		if out == 0 {
			b.Fatalf("the writer stopped after %d of %d", sent.Load(), b.N)
		}
		lost += out
		for range out {
			credit <- struct{}{}
		}
	}
	elapsed := time.Since(start)
	close(stop)
	<-done
	b.ReportMetric(float64(got)/elapsed.Seconds(), "dgrams/s")
	b.ReportMetric(float64(lost), "lost")
}

func isDone(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

func statsLine(s *Stats) string {
	return fmt.Sprintf("tx %d rx %d full %d closed %d unknown-eid %d oversize %d send-err %d read-err %d short %d long %d",
		s.TxPackets.Load(), s.RxPackets.Load(), s.DropFull.Load(), s.DropClosed.Load(), s.DropUnknownEID.Load(),
		s.DropOversize.Load(), s.DropSendErr.Load(), s.ReadErrors.Load(), s.DropShort.Load(), s.DropTooLong.Load())
}
