package frct

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/o7s/ouroboros/internal/lossy"
)

// Requests one way on a clean link, replies the other way on a lossy one,
// as oping -q data over a link that loses replies: every reply arrives,
// once, in order, for many seeds.
func TestPingPongLossyReplies(t *testing.T) {
	for _, both := range []bool{false, true} {
		var worst time.Duration
		for seed := uint64(1); seed <= 60; seed++ {
			if d := pingPong(t, seed, both); d > worst {
				worst = d
			}
		}
		t.Logf("loss both ways %v: the slowest of 60 runs took %v", both, worst)
	}
}

// pingPong runs 500 requests and replies with 20% loss on the replies (and
// on the requests too when both) and returns how long it took.
func pingPong(t *testing.T, seed uint64, both bool) time.Duration {
	{
		p := newPipe(true, lossy.Impairment{Delay: 200 * time.Microsecond})
		p.ba = lossy.New(lossy.Impairment{Loss: 0.2, Delay: 200 * time.Microsecond, Seed: seed})
		if both {
			p.ab = lossy.New(lossy.Impairment{Loss: 0.2, Delay: 200 * time.Microsecond, Seed: seed + 1000})
		}
		const n = 500
		buf := make([]byte, 2000)
		pdu := make([]byte, PCILen+64)
		sent, replied, got := 0, 0, 0
		cbuf := make([]byte, 2000)
		progress := false
		// The client reads its replies while the server waits to send
		// (they are two processes).
		clientReads := func() {
			for {
				_, ok := p.a.Next(cbuf, p.now)
				if !ok {
					return
				}
				if binary.BigEndian.Uint32(cbuf) != uint32(got) {
					t.Fatalf("seed %d: reply %d arrived as %d", seed, got, binary.BigEndian.Uint32(cbuf))
				}
				got++
				progress = true
			}
		}
		for got < n && p.now < int64(600*time.Second) {
			progress = false
			if sent < n { // -i 0: requests go without waiting for replies
				binary.BigEndian.PutUint32(pdu[PCILen:], uint32(sent))
				if p.a.Send(pdu, p.now) == nil {
					p.ab.Send(AppendCRC(append([]byte(nil), pdu...)), p.now)
					sent++
					progress = true
				}
			}
			p.carry()
			for { // the server echoes every request it gets
				k, ok := p.b.Next(buf, p.now)
				if !ok {
					break
				}
				if binary.BigEndian.Uint32(buf) != uint32(replied) {
					t.Fatalf("seed %d: request %d arrived as %d", seed, replied, binary.BigEndian.Uint32(buf))
				}
				r := make([]byte, PCILen+k)
				copy(r[PCILen:], buf[:k])
				for p.b.Send(r, p.now) != nil {
					if !p.advance() {
						t.Fatalf("seed %d: the server is stuck", seed)
					}
					p.carry()
					clientReads()
				}
				p.ba.Send(AppendCRC(append([]byte(nil), r...)), p.now)
				replied++
				progress = true
			}
			clientReads()
			if !progress && !p.advance() {
				t.Fatalf("seed %d: stuck with %d sent, %d replied, %d back; b.snd %+v b.rtxDue %d; a.rcv %+v a.ack %d a.stored %d; a %+v; b %+v", seed, sent, replied, got, p.b.snd, p.b.rtxDue, p.a.rcv, p.a.ack, p.a.stored, p.a.Stats(), p.b.Stats())
			}
		}
		if got != n {
			t.Fatalf("seed %d: %d of %d replies by %v (sent %d, replied %d); server %+v", seed, got, n, time.Duration(p.now), sent, replied, p.b.Stats())
		}
		return time.Duration(p.now)
	}
}
