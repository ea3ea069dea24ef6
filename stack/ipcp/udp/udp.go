package udp

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/o7s/ouroboros/stack/errs"
	"github.com/o7s/ouroboros/stack/ipcp"
)

// MPL is the maximum packet lifetime a UDP layer announces.
const MPL = 5000 * time.Millisecond

// Sizes of the IPCP's tables and batches.
const (
	// MaxFlows bounds the flows of one IPCP; eids are 1..MaxFlows-1.
	MaxFlows = 1 << 14
	// Batch is how many datagrams one system call reads or writes.
	Batch = 64
	// MaxPendingReqs bounds the flow requests waiting for the IRM; more
	// are dropped (and counted) until one is answered.
	MaxPendingReqs = 64
	// socketBuffer is the send and receive buffer asked of the kernel.
	socketBuffer = 4 << 20
	// flowBuffer is the buffer asked for the node end of each flow: the
	// reader never waits on a flow, so this queue absorbs the bursts a
	// batch read delivers (the default holds about a dozen 9 kB SDUs).
	flowBuffer = 1 << 20
)

// Stats counts what the IPCP moved and dropped. Every field only grows.
type Stats struct {
	TxPackets atomic.Uint64 // data datagrams sent
	RxPackets atomic.Uint64 // SDUs handed to a flow
	MgmtRx    atomic.Uint64 // management messages accepted

	DropShort      atomic.Uint64 // datagram shorter than the eid
	DropTooLong    atomic.Uint64 // received datagram over the maximum packet
	DropUnknownEID atomic.Uint64 // no flow has the datagram's eid
	DropWrongPeer  atomic.Uint64 // the datagram's eid is a flow with another peer
	DropFull       atomic.Uint64 // the flow's node end was full
	DropClosed     atomic.Uint64 // the flow's node end was closing
	DropOversize   atomic.Uint64 // SDU over the maximum, dropped at send
	DropSendErr    atomic.Uint64 // the kernel refused a datagram
	DropTxFull     atomic.Uint64 // a port's TrySend found the socket's queue full
	ReadErrors     atomic.Uint64 // failed batch reads

	DropBadMgmt     atomic.Uint64 // runt, unknown code, short FLOW_REQ
	DropNotReg      atomic.Uint64 // FLOW_REQ for a name not registered here
	DropReqBusy     atomic.Uint64 // FLOW_REQ over MaxPendingReqs
	DropStaleReply  atomic.Uint64 // FLOW_REPLY for no pending flow
	DropWrongSource atomic.Uint64 // FLOW_REPLY from another address than the request's
}

// IPCP is a udp4 or udp6 IPCP.
type IPCP struct {
	id        uint32
	typ       ipcp.Type
	irm       ipcp.IRM
	log       *slog.Logger
	maxPacket int // eid included
	Stats     Stats

	// Test hooks, set before Bootstrap.
	dnsPort   uint16
	portable  bool // receive with x/net's ReadBatch on Linux too
	sysLookup func(ctx context.Context, network, host string) ([]netip.Addr, error)

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	reqSem chan struct{}

	// Set once by Bootstrap before the state turns operational, and only
	// read after that.
	conn *net.UDPConn
	bc   batchConn

	// dq holds what the flows' ports queued for the data writer (port.go).
	dq chan *outPacket

	// demux maps a local eid to its flow, read without locks by the
	// reader; written under mu.
	demux *ipcp.Table[flow]

	mu      sync.Mutex // guards the fields below
	state   ipcp.State
	layer   ipcp.Layer
	local   netip.AddrPort                 // bound address
	dns     netip.Addr                     // DDNS server; invalid when none
	reg     map[string]bool                // registered hashes
	dir     map[string]netip.AddrPort      // resolved names; port 0: the layer's
	static  map[string]netip.AddrPort      // static entries; port 0: the layer's
	byKey   map[ipcp.FlowKey]*flow         // every flow held
	waiters map[ipcp.FlowKey]chan struct{} // FlowAllocResp waiting for its flow
	eidUsed eidSet                         // reserved or installed eids
	nextEID uint32                         // next-fit cursor
}

var (
	_ ipcp.IPCP      = (*IPCP)(nil)
	_ ipcp.StaticDir = (*IPCP)(nil)
)

// New4 returns a udp4 IPCP in state BOOT. id identifies it to the IRM.
func New4(id uint32, irm ipcp.IRM, log *slog.Logger) ipcp.IPCP {
	return newIPCP(ipcp.UDP4, id, irm, log)
}

// New6 returns a udp6 IPCP in state BOOT. id identifies it to the IRM.
func New6(id uint32, irm ipcp.IRM, log *slog.Logger) ipcp.IPCP {
	return newIPCP(ipcp.UDP6, id, irm, log)
}

func newIPCP(typ ipcp.Type, id uint32, irm ipcp.IRM, log *slog.Logger) *IPCP {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &IPCP{
		id: id, typ: typ, irm: irm, log: log, maxPacket: MaxPacket4,
		dnsPort: 53, sysLookup: net.DefaultResolver.LookupNetIP,
		ctx: ctx, cancel: cancel, reqSem: make(chan struct{}, MaxPendingReqs),
		state: ipcp.StateBoot, layer: ipcp.Layer{Name: ipcp.NotEnrolled},
		reg:     make(map[string]bool),
		dir:     make(map[string]netip.AddrPort),
		static:  make(map[string]netip.AddrPort),
		byKey:   make(map[ipcp.FlowKey]*flow),
		waiters: make(map[ipcp.FlowKey]chan struct{}),
		nextEID: 1,
		dq:      make(chan *outPacket, txDataLen),
		demux:   ipcp.NewTable[flow](MaxFlows),
	}
	if typ == ipcp.UDP6 {
		p.maxPacket = MaxPacket6
	}
	return p
}

// MaxSDU is the largest SDU the IPCP carries.
func (p *IPCP) MaxSDU() int { return p.maxPacket - EIDLen }

// Type is udp4 or udp6.
func (p *IPCP) Type() ipcp.Type { return p.typ }

// Layer returns the layer the IPCP is in.
func (p *IPCP) Layer() ipcp.Layer {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.layer
}

// LocalAddr returns the address and port the IPCP is bound to (invalid
// before Bootstrap).
func (p *IPCP) LocalAddr() netip.AddrPort {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.local
}

// network is "udp4" or "udp6".
func (p *IPCP) network() string {
	if p.typ == ipcp.UDP6 {
		return "udp6"
	}
	return "udp4"
}

// checkAddr returns addr in the form the IPCP's family uses, or an error.
func (p *IPCP) checkAddr(addr netip.Addr) (netip.Addr, error) {
	switch {
	case !addr.IsValid() || addr.IsUnspecified():
		return addr, fmt.Errorf("%w: %v is not a usable address", errs.ErrInvalid, addr)
	case p.typ == ipcp.UDP4 && addr.Unmap().Is4():
		return addr.Unmap(), nil
	case p.typ == ipcp.UDP6 && addr.Is6():
		return addr, nil
	}
	return addr, fmt.Errorf("%w: address %v does not suit a %v IPCP", errs.ErrInvalid, addr, p.typ)
}

func (p *IPCP) operational() error {
	if p.state != ipcp.StateOperational {
		return fmt.Errorf("%w: IPCP is %v, not operational", errs.ErrIPCPState, p.state)
	}
	return nil
}

// Bootstrap implements ipcp.IPCP: it binds the socket to conf.UDP.Addr and
// Port (an ephemeral port when 0) and starts the reader.
func (p *IPCP) Bootstrap(_ context.Context, conf ipcp.Config) (ipcp.Layer, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state != ipcp.StateBoot {
		return ipcp.Layer{}, fmt.Errorf("%w: bootstrap needs state boot, IPCP is %v", errs.ErrIPCPState, p.state)
	}
	if conf.Layer == "" || conf.UDP == nil {
		return ipcp.Layer{}, fmt.Errorf("%w: a %v bootstrap needs a layer name and an address", errs.ErrInvalid, p.typ)
	}
	addr, err := p.checkAddr(conf.UDP.Addr)
	if err != nil {
		return ipcp.Layer{}, err
	}
	if conf.UDP.DNS.IsValid() && !conf.UDP.DNS.IsUnspecified() {
		if p.dns, err = p.checkAddr(conf.UDP.DNS); err != nil {
			return ipcp.Layer{}, fmt.Errorf("dns server: %w", err)
		}
	}
	for name, a := range conf.UDP.Static {
		if err := p.addStaticLocked(ipcp.MD5.Sum(name), netip.AddrPortFrom(a, 0)); err != nil {
			return ipcp.Layer{}, err
		}
	}
	rx, err := p.listen(netip.AddrPortFrom(addr, conf.UDP.Port))
	if err != nil {
		return ipcp.Layer{}, err
	}
	p.layer = ipcp.Layer{Name: conf.Layer, Hash: ipcp.MD5}
	p.state = ipcp.StateOperational
	p.wg.Add(2)
	go p.reader(rx)
	go p.dataWriter()
	p.log.Info("bootstrapped", "layer", conf.Layer, "type", p.typ, "addr", p.local, "dns", p.dns)
	return p.layer, nil
}

// listen binds the socket and returns its receiver; p.mu is held.
func (p *IPCP) listen(ap netip.AddrPort) (receiver, error) {
	conn, err := net.ListenUDP(p.network(), net.UDPAddrFromAddrPort(ap))
	if err != nil {
		return nil, fmt.Errorf("%w: bind %v: %w", errs.ErrResources, ap, err)
	}
	// Best effort: the kernel caps both at its limits.
	conn.SetReadBuffer(socketBuffer)
	conn.SetWriteBuffer(socketBuffer)
	bc := newBatchConn(p.typ, conn)
	bufs := receiveBuffers(p.maxPacket, firstBatch)
	var rx receiver = newXNetReceiver(bc, bufs)
	if !p.portable {
		if rx, err = newReceiver(conn, bc, bufs); err != nil {
			conn.Close()
			return nil, fmt.Errorf("%w: %w", errs.ErrResources, err)
		}
	}
	p.conn, p.bc = conn, bc
	p.local = netip.AddrPortFrom(ap.Addr(), uint16(conn.LocalAddr().(*net.UDPAddr).Port))
	return rx, nil
}

// Close implements ipcp.IPCP: it stops the reader, releases every flow
// (reporting each to the IRM) and waits for all goroutines. It is
// idempotent.
func (p *IPCP) Close() error {
	p.mu.Lock()
	if p.state == ipcp.StateShutdown {
		p.mu.Unlock()
		return nil
	}
	p.state = ipcp.StateShutdown
	keys := make([]ipcp.FlowKey, 0, len(p.byKey))
	for k := range p.byKey {
		keys = append(keys, k)
	}
	conn := p.conn
	p.mu.Unlock()
	p.cancel()
	if conn != nil {
		conn.Close()
	}
	for _, k := range keys {
		p.FlowDealloc(k)
	}
	p.wg.Wait()
	p.drainData()
	p.log.Info("stopped")
	return nil
}
