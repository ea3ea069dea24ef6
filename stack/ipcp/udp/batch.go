package udp

import (
	"net"
	"net/netip"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"

	"github.com/o7s/ouroboros/stack/ipcp"
)

// batchConn is the batch-shaped face of the UDP socket from
// golang.org/x/net: sendmmsg and recvmmsg on Linux, one datagram per call
// elsewhere. ipv4.Message and ipv6.Message are the same type.
type batchConn interface {
	ReadBatch(ms []ipv4.Message, flags int) (int, error)
	WriteBatch(ms []ipv4.Message, flags int) (int, error)
}

func newBatchConn(typ ipcp.Type, c *net.UDPConn) batchConn {
	if typ == ipcp.UDP6 {
		return ipv6.NewPacketConn(c)
	}
	return ipv4.NewPacketConn(c)
}

// receiver reads datagrams in batches into buffers it was given, and is
// used by one goroutine.
type receiver interface {
	// read waits for at least one datagram and returns how many it got.
	read() (int, error)
	// datagram returns the i-th datagram of the last read and its source
	// (invalid if unknown).
	datagram(i int) ([]byte, netip.AddrPort)
	// batch is how many datagrams a read takes at most.
	batch() int
	// grow takes the batch up to Batch datagrams, with buffers for them
	// (a no-op when it is there already).
	grow()
}

// xnetReceiver reads with x/net's ReadBatch, which allocates the source
// address of every datagram.
type xnetReceiver struct {
	bc   batchConn
	msgs []ipv4.Message
}

func newXNetReceiver(bc batchConn, bufs [][]byte) *xnetReceiver {
	r := &xnetReceiver{bc: bc, msgs: make([]ipv4.Message, len(bufs))}
	for i := range bufs {
		r.msgs[i].Buffers = [][]byte{bufs[i]}
	}
	return r
}

func (r *xnetReceiver) read() (int, error) { return r.bc.ReadBatch(r.msgs, 0) }

func (r *xnetReceiver) batch() int { return len(r.msgs) }

func (r *xnetReceiver) grow() {
	if len(r.msgs) >= Batch {
		return
	}
	for _, b := range receiveBuffers(len(r.msgs[0].Buffers[0])-1, Batch-len(r.msgs)) {
		r.msgs = append(r.msgs, ipv4.Message{Buffers: [][]byte{b}})
	}
}

func (r *xnetReceiver) datagram(i int) ([]byte, netip.AddrPort) {
	m := &r.msgs[i]
	var from netip.AddrPort
	if ua, ok := m.Addr.(*net.UDPAddr); ok {
		from = ua.AddrPort()
	}
	return m.Buffers[0][:m.N], from
}

// firstBatch is how many datagrams the reader takes per call at first.
// growAfter reads that fill them all (datagrams were waiting: the socket
// is busy, or has been) take it to Batch, for good; an IPCP that carries
// only management traffic and the odd burst of it keeps firstBatch
// buffers of MaxPacket4 (72 KiB) instead of Batch (575 KiB).
const (
	firstBatch = 8
	growAfter  = 64
)

// receiveBuffers returns n buffers one byte longer than the largest
// packet (so that a longer datagram shows as too long), in one block.
func receiveBuffers(maxPacket, n int) [][]byte {
	mem := make([]byte, n*(maxPacket+1))
	bufs := make([][]byte, n)
	for i := range bufs {
		bufs[i] = mem[i*(maxPacket+1) : (i+1)*(maxPacket+1) : (i+1)*(maxPacket+1)]
	}
	return bufs
}
