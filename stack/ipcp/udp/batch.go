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

func (r *xnetReceiver) datagram(i int) ([]byte, netip.AddrPort) {
	m := &r.msgs[i]
	var from netip.AddrPort
	if ua, ok := m.Addr.(*net.UDPAddr); ok {
		from = ua.AddrPort()
	}
	return m.Buffers[0][:m.N], from
}

// receiveBuffers returns Batch buffers one byte longer than the largest
// datagram, so a longer one shows.
func receiveBuffers(maxPacket int) [][]byte {
	mem := make([]byte, Batch*(maxPacket+1))
	bufs := make([][]byte, Batch)
	for i := range bufs {
		bufs[i] = mem[i*(maxPacket+1) : (i+1)*(maxPacket+1) : (i+1)*(maxPacket+1)]
	}
	return bufs
}
