package eth

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/o7s/ouroboros/stack/errs"
	"github.com/o7s/ouroboros/stack/ipcp"
)

// Constants of the reference (spec SYSTEM §6, §11.2).
const (
	MPL              = 100 * time.Millisecond // announced maximum packet lifetime
	NameQueryTimeout = 2 * time.Second        // wait for a NAME_QUERY_REPLY
	MaxMgmtFrame     = 9000                   // longer management payloads are dropped

	// DIX endpoint ids are the reference's flow descriptor numbers, 64 up
	// to 4095; 0 is management.
	firstEID = 64
	endEID   = 4096
	// LLC data SAPs are 2..65, from a bitmap of 64.
	firstSAP = 2
	endSAP   = firstSAP + 64
)

// Sizes of our own.
const (
	// FlowBuffer is the socket buffer of each N+1 flow end the IPCP holds:
	// received SDUs wait there for the application, and when it is full
	// they are dropped (counted in Stats.DropFlowFull).
	FlowBuffer = 2 << 20

	txQueueLen   = 1024 // management frames waiting for the writer
	mgmtQueueLen = 256  // management frames waiting; dropped when full
	maxFlowReqs  = 64   // FLOW_REQs waiting for an acceptor; more are dropped
)

var errClosed = fmt.Errorf("%w: the IPCP is shut down", errs.ErrIPCPState)

// IPCP is an eth-dix or eth-llc IPCP.
type IPCP struct {
	linkDown atomic.Bool // the link has no carrier: flows cannot be allocated
	llc      bool        // eth-llc, else eth-dix
	id       uint32
	irm      ipcp.IRM
	log      *slog.Logger
	open     OpenFunc
	Stats    Stats

	ctx    context.Context // ends at Close
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once

	// Set by Bootstrap, read-only afterwards.
	link      Link
	mac       MAC
	ethertype uint16
	mtu       int
	maxSDU    int // largest payload of a frame
	hl        int // header length
	frameLen  int // receive and packet buffer size
	hashLen   int
	eps       *ipcp.Table[flow] // by local endpoint id or SAP
	tx        chan *packet      // management frames for the writer
	dq        chan *packet      // data frames the ports queued for the writer (port.go)
	mgmtq     chan *mgmtFrame
	reqs      chan struct{} // FLOW_REQ workers in flight
	pool      sync.Pool

	mu      sync.Mutex // guards the fields below and flow states
	state   ipcp.State
	layer   ipcp.Layer
	reg     map[string]bool            // hashes registered here
	dir     map[string]MAC             // directory: hash → MAC, never aged
	queries map[string]*query          // pending name queries by hash
	flows   map[ipcp.FlowKey]*flow     // every flow held
	resps   map[ipcp.FlowKey]*pendResp // arrived requests until FlowAllocResp
	ids     idSpace
}

var _ ipcp.IPCP = (*IPCP)(nil)

// New returns an IPCP of type typ (ipcp.EthDIX or ipcp.EthLLC) in state
// BOOT; open makes its link at Bootstrap. id identifies it to the IRM.
func New(typ ipcp.Type, id uint32, irm ipcp.IRM, log *slog.Logger, open OpenFunc) *IPCP {
	if typ != ipcp.EthDIX && typ != ipcp.EthLLC {
		panic(fmt.Sprintf("eth: New with IPCP type %v", typ))
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &IPCP{
		llc: typ == ipcp.EthLLC, id: id, irm: irm, log: log, open: open,
		ctx: ctx, cancel: cancel, state: ipcp.StateBoot,
		reg:     make(map[string]bool),
		dir:     make(map[string]MAC),
		queries: make(map[string]*query),
		flows:   make(map[ipcp.FlowKey]*flow),
		resps:   make(map[ipcp.FlowKey]*pendResp),
	}
	p.pool.New = func() any { return &packet{buf: make([]byte, p.frameLen)} }
	return p
}

// NewDIX is the production constructor of eth-dix IPCPs (AF_PACKET).
func NewDIX(id uint32, irm ipcp.IRM, log *slog.Logger) ipcp.IPCP {
	return New(ipcp.EthDIX, id, irm, log, OpenAFPacket)
}

// NewLLC is the production constructor of eth-llc IPCPs (AF_PACKET).
func NewLLC(id uint32, irm ipcp.IRM, log *slog.Logger) ipcp.IPCP {
	return New(ipcp.EthLLC, id, irm, log, OpenAFPacket)
}

// Bootstrap implements ipcp.IPCP: it opens the link and starts the reader,
// the writer and the management worker.
func (p *IPCP) Bootstrap(_ context.Context, conf ipcp.Config) (ipcp.Layer, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state != ipcp.StateBoot {
		return ipcp.Layer{}, fmt.Errorf("%w: bootstrap needs state boot, IPCP is %v", errs.ErrIPCPState, p.state)
	}
	if conf.Layer == "" || conf.Eth == nil || conf.Eth.Dev == "" || conf.Hash.Len() == 0 {
		return ipcp.Layer{}, fmt.Errorf("%w: bootstrap needs a layer name, a hash algorithm and an interface", errs.ErrInvalid)
	}
	ec := *conf.Eth
	if !p.llc && ec.Ethertype == 0 {
		ec.Ethertype = ipcp.DefaultEthertype
	}
	if !p.llc && ec.Ethertype <= maxLLCLength {
		return ipcp.Layer{}, fmt.Errorf("%w: ethertype %#04x is an 802.3 length, not a type", errs.ErrInvalid, ec.Ethertype)
	}
	link, err := p.open(ec, p.llc)
	if err != nil {
		return ipcp.Layer{}, fmt.Errorf("open %s: %w", ec.Dev, err)
	}
	if err := p.setup(link, ec, conf.Hash); err != nil {
		link.Close()
		return ipcp.Layer{}, err
	}
	p.layer = ipcp.Layer{Name: conf.Layer, Hash: conf.Hash}
	p.state = ipcp.StateOperational
	p.wg.Add(3)
	go p.reader()
	go p.writer()
	go p.mgmt()
	if c, ok := link.(Carrier); ok {
		p.wg.Add(1)
		go p.watchCarrier(c.Carrier())
	}
	log := p.log.With("layer", conf.Layer, "hash", conf.Hash, "dev", ec.Dev, "mac", p.mac, "mtu", p.mtu)
	if !p.llc {
		log = log.With("ethertype", fmt.Sprintf("%#04x", ec.Ethertype))
	}
	log.Info("bootstrapped")
	return p.layer, nil
}

// setup fixes what Bootstrap learns from the link; p.mu is held.
func (p *IPCP) setup(link Link, ec ipcp.EthConfig, hash ipcp.HashAlgo) error {
	if len(link.MAC()) != MACLen {
		return fmt.Errorf("%w: %s", ErrNoMAC, ec.Dev)
	}
	p.link, p.mac, p.ethertype = link, MAC(link.MAC()), ec.Ethertype
	p.mtu = LayerMTU(ec.Dev, link.MTU(), p.llc)
	p.maxSDU = MaxPayload(p.mtu, p.llc)
	p.hashLen = hash.Len()
	if p.maxSDU < MgmtLen(p.llc)+p.hashLen {
		return fmt.Errorf("%w: MTU %d of %s is too small for management frames", errs.ErrInvalid, p.mtu, ec.Dev)
	}
	p.hl, p.frameLen = DIXHeaderLen, max(MinFrame, ethHdrLen+p.mtu)
	p.ids = newIDSpace(firstEID, endEID)
	if p.llc {
		p.hl, p.ids = LLCHeaderLen, newIDSpace(firstSAP, endSAP)
	}
	p.eps = ipcp.NewTable[flow](p.ids.end)
	p.tx = make(chan *packet, txQueueLen)
	p.dq = make(chan *packet, txDataLen)
	p.mgmtq = make(chan *mgmtFrame, mgmtQueueLen)
	p.reqs = make(chan struct{}, maxFlowReqs)
	return nil
}

func (p *IPCP) operational() error {
	if p.state != ipcp.StateOperational {
		return fmt.Errorf("%w: IPCP is %v, not operational", errs.ErrIPCPState, p.state)
	}
	return nil
}

// Reg implements ipcp.IPCP: the name becomes known here only; queries
// find it.
func (p *IPCP) Reg(hash []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.operational(); err != nil {
		return err
	}
	p.reg[string(hash)] = true
	return nil
}

// Unreg implements ipcp.IPCP.
func (p *IPCP) Unreg(hash []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.reg, string(hash))
	return nil
}

// query is a name query in progress: replies close done.
type query struct {
	done    chan struct{}
	waiters int
}

// Query implements ipcp.IPCP: a directory hit, or a broadcast
// NAME_QUERY_REQ and a wait of up to NameQueryTimeout for the reply. A
// reply that comes after ctx ended still fills the directory.
func (p *IPCP) Query(ctx context.Context, hash []byte) error {
	p.mu.Lock()
	if err := p.operational(); err != nil {
		p.mu.Unlock()
		return err
	}
	if _, ok := p.dir[string(hash)]; ok {
		p.mu.Unlock()
		return nil
	}
	q := p.queries[string(hash)]
	if q == nil {
		q = &query{done: make(chan struct{})}
		p.queries[string(hash)] = q
	}
	q.waiters++
	layer := p.layer.Name
	p.mu.Unlock()
	defer p.leaveQuery(hash, q)
	if err := p.sendMgmt(ctx, Broadcast, &Mgmt{Code: NameQueryReq}, hash); err != nil {
		return fmt.Errorf("name query: %w", err)
	}
	t := time.NewTimer(NameQueryTimeout)
	defer t.Stop()
	select {
	case <-q.done:
		return nil
	case <-t.C:
		return fmt.Errorf("%w: no answer to the name query in layer %s within %v", errs.ErrName, layer, NameQueryTimeout)
	case <-ctx.Done():
		return fmt.Errorf("name query: %w", ctx.Err())
	case <-p.ctx.Done():
		return errClosed
	}
}

func (p *IPCP) leaveQuery(hash []byte, q *query) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if q.waiters--; q.waiters == 0 && p.queries[string(hash)] == q {
		delete(p.queries, string(hash))
	}
}

// learn adds a directory entry and wakes the queries for it.
func (p *IPCP) learn(hash []byte, mac MAC) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.dir[string(hash)] = mac
	if q := p.queries[string(hash)]; q != nil {
		close(q.done)
		delete(p.queries, string(hash))
	}
}

// Close implements ipcp.IPCP: it closes the link, releases every flow
// (FlowDeallocated for each) and waits for its goroutines.
func (p *IPCP) Close() error {
	p.once.Do(p.shutdown)
	return nil
}

func (p *IPCP) shutdown() {
	p.mu.Lock()
	p.state = ipcp.StateShutdown
	link := p.link
	keys := make([]ipcp.FlowKey, 0, len(p.flows))
	for k := range p.flows {
		keys = append(keys, k)
	}
	p.mu.Unlock()
	p.cancel()
	if link != nil {
		link.Close()
	}
	for _, k := range keys {
		if p.release(k) {
			p.irm.FlowDeallocated(k)
		}
	}
	p.wg.Wait()
	for {
		select {
		case pk := <-p.tx:
			p.putPacket(pk)
		case pk := <-p.dq:
			p.putPacket(pk)
		default:
			p.log.Info("shut down")
			return
		}
	}
}

// Layer returns the layer the IPCP is in.
func (p *IPCP) Layer() ipcp.Layer {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.layer
}

// MAC is the address of the IPCP's interface (zero before Bootstrap).
func (p *IPCP) MAC() MAC {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mac
}

// MaxSDU is the largest SDU the layer carries (0 before Bootstrap).
func (p *IPCP) MaxSDU() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.maxSDU
}

// NumFlows is the number of flows the IPCP holds.
func (p *IPCP) NumFlows() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.flows)
}

// errRefused is the error of a flow the peer refused.
func errRefused(response int32) error {
	return fmt.Errorf("the peer refused the flow: %w", errs.Remote(response, ""))
}

// watchCarrier tells the IRM, for every flow held, when the link goes down
// or comes back up; it ends when the link closes the channel.
func (p *IPCP) watchCarrier(ch <-chan bool) {
	defer p.wg.Done()
	for up := range ch {
		p.linkDown.Store(!up)
		p.mu.Lock()
		keys := make([]ipcp.FlowKey, 0, len(p.flows))
		for k := range p.flows {
			keys = append(keys, k)
		}
		p.mu.Unlock()
		if up {
			p.Stats.LinkUp.Add(1)
		} else {
			p.Stats.LinkDown.Add(1)
		}
		p.log.Info("link state", "up", up, "flows", len(keys))
		for _, k := range keys {
			p.irm.FlowState(k, up)
		}
	}
}
