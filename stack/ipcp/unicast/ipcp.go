// Package unicast is the unicast IPCP (spec SYSTEM §8): an IPC process that
// forms a layer over other layers. Its peers are reached over flows in the
// layers below (allocated and accepted through the node, package
// ipcp.Lower); on those flows it runs the reference's protocols byte for
// byte: connection establishment (connmgr), enrollment (enroll), data
// transfer with its PCI (dt) and forwarding (pff), link-state routing
// (routing), the DHT directory (dir), and the flow allocator (fa).
//
// Goroutines: one acceptor of lower flows; one reader per N-1 data-transfer
// flow, which forwards or delivers every packet it reads, or, while flows
// of more than one QoS cube are in use, hands it to the packet scheduler's
// workers, who take the highest cube first (psched.go); one reader per
// management flow (link-state updates); one reader per N+1 flow, which
// writes to the next hop itself; and one timer goroutine for the link-state
// and DHT periodic tasks. Forwarding looks up lock-free snapshots.
//
// A data-transfer flow over an eth or udp IPCP of the same node comes with
// an in-process port (ipcp.LowerFlow.Port; not when the node relays the
// flow through FRCT or encryption): once the CEP exchange is done the IPCP
// attaches to it, and then the lower IPCP's reader runs each packet to
// completion through input (parse, TTL, next hop, and the next lower IPCP's
// queue, or delivery), and the IPCP's own packets go straight to the lower
// IPCP's queue; the flow's channel stays its end, and its reader takes
// what it still carries.
package unicast

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/o7s/ouroboros/stack/errs"
	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/stack/ipcp/enroll"
	"github.com/o7s/ouroboros/stack/ipcp/unicast/dir"
	"github.com/o7s/ouroboros/stack/ipcp/unicast/dt"
	"github.com/o7s/ouroboros/stack/ipcp/unicast/pff"
	"github.com/o7s/ouroboros/stack/ipcp/unicast/routing"
)

// MPL is the maximum packet lifetime the IPCP reports for its flows.
const MPL = 100 * time.Millisecond

// maxReqs bounds the flow requests waiting for an acceptor at once; more
// are dropped (the requester times out), so a flood cannot grow memory.
const maxReqs = 256

var errClosed = errors.New("unicast: the IPCP is shut down")

// IPCP is a unicast IPCP.
type IPCP struct {
	id    uint32
	irm   ipcp.IRM
	lower ipcp.Lower
	log   *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex // guards the fields below, and the conns' lists
	state   ipcp.State
	layer   ipcp.Layer
	conf    ipcp.UnicastConfig // as handed to enrollees
	started bool
	conns   []*conn // every N-1 flow in use, in order of arrival
	maxSDU  atomic.Int64
	regs    map[string]bool
	met     map[lowerPeer]uint64 // the address last met at each lower peer (restart.go)

	// Set once the components start, read without the lock after.
	addr   uint32
	maxTTL uint8
	cong   ipcp.Congestion
	pff    *pff.Table
	dht    *dir.DHT
	ls     *linkState
	dt     atomic.Pointer[map[int]*conn] // DT conns by lower flow id
	sched  *psched
	fa     flowAllocator
	reqs   chan struct{}
	stats  counters
	kick   chan struct{} // a new adjacency: retry the DHT bootstrap now
	live   liveness
	// tickless: no ticker (tests, which run the periodic tasks themselves).
	tickless bool
}

// New returns an IPCP in state boot. The node must offer ipcp.Lower.
func New(id uint32, irm ipcp.IRM, log *slog.Logger) ipcp.IPCP {
	ctx, cancel := context.WithCancel(context.Background())
	p := &IPCP{id: id, irm: irm, log: log, ctx: ctx, cancel: cancel, state: ipcp.StateBoot,
		layer: ipcp.Layer{Name: ipcp.NotEnrolled}, regs: map[string]bool{}, met: map[lowerPeer]uint64{}, reqs: make(chan struct{}, maxReqs), kick: make(chan struct{}, 1)}
	p.lower, _ = irm.(ipcp.Lower)
	m := map[int]*conn{}
	p.dt.Store(&m)
	p.live.nbs = map[nbKey]*neighbour{}
	p.fa.init(p)
	return p
}

func randAddr() uint32 {
	var b [4]byte
	for {
		rand.Read(b[:])
		if a := binary.LittleEndian.Uint32(b[:]); a != 0 {
			return a
		}
	}
}

// AddrString is the text form of an address: its four bytes as the
// reference prints them (memory order of the integer on x86).
func AddrString(a uint64) string {
	return fmt.Sprintf("%02x.%02x.%02x.%02x", byte(a), byte(a>>8), byte(a>>16), byte(a>>24))
}

// Bootstrap implements ipcp.IPCP: the first member of a new layer.
func (p *IPCP) Bootstrap(ctx context.Context, conf ipcp.Config) (ipcp.Layer, error) {
	if p.lower == nil {
		return ipcp.Layer{}, errors.New("unicast: the node offers no lower layers")
	}
	u := ipcp.UnicastConfig{Cong: ipcp.CongMBECN}
	if conf.Unicast != nil {
		u = *conf.Unicast
	}
	u.Defaults()
	layer := ipcp.Layer{Name: conf.Layer, Hash: conf.Hash}
	if err := p.start(layer, u); err != nil {
		return ipcp.Layer{}, err
	}
	p.log.Info("bootstrapped", "layer", layer.Name, "addr", AddrString(uint64(p.addr)))
	return layer, nil
}

// Enroll implements ipcp.Enroller (spec SYSTEM §8.5).
func (p *IPCP) Enroll(ctx context.Context, dst string) (ipcp.Layer, error) {
	if p.lower == nil {
		return ipcp.Layer{}, errors.New("unicast: the node offers no lower layers")
	}
	p.mu.Lock()
	if p.started {
		p.mu.Unlock()
		return ipcp.Layer{}, fmt.Errorf("%w: in layer %s already", errs.ErrIPCPState, p.layer.Name)
	}
	p.mu.Unlock()
	c, err := enroll.Join(ctx, p.lower, p.id, dst, ipcp.Unicast, p.log, func(c enroll.Conf) error {
		if c.Unicast == nil {
			return fmt.Errorf("%w: the enroller sent no unicast configuration", enroll.ErrMsg)
		}
		u := *c.Unicast
		if u.AddrSize != 4 || u.AddrAuth != ipcp.AddrAuthFlat || u.Dir != ipcp.DirDHT || u.Routing > 2 || u.Cong > ipcp.CongMBECN {
			return fmt.Errorf("unicast: the layer's configuration is not supported here (address size %d, address authority %d, directory %d, routing %d, congestion %d)",
				u.AddrSize, u.AddrAuth, u.Dir, u.Routing, u.Cong)
		}
		u.EIDSize = 8
		u.Defaults()
		return p.start(c.Layer, u)
	})
	if err != nil {
		return ipcp.Layer{}, err
	}
	u := c.Unicast
	p.log.Info("enrolled", "layer", c.Layer.Name, "dst", dst, "addr", AddrString(uint64(p.addr)), "peer", AddrString(u.DHTPeer))
	return c.Layer, nil
}

// start initialises and starts the components with the layer's
// configuration u (whose DHTPeer is the enroller, or 0).
func (p *IPCP) start(layer ipcp.Layer, u ipcp.UnicastConfig) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.started {
		return fmt.Errorf("%w: in layer %s already", errs.ErrIPCPState, p.layer.Name)
	}
	if p.ctx.Err() != nil {
		return errClosed
	}
	p.addr = randAddr()
	p.maxTTL, p.cong = u.MaxTTL, u.Cong
	tab, err := pff.New(pff.Policy(u.Routing))
	if err != nil {
		return err
	}
	p.pff = tab
	p.ls = newLinkState(p, routing.Policy(u.Routing), u.TUpdate, u.TTimeo, u.TRecalc)
	peer := u.DHTPeer
	d, err := dir.New(dir.Config{
		IDLen: layer.Hash.Len(), Addr: uint64(p.addr), Peer: peer,
		Alpha: int(u.DHTAlpha), K: int(u.DHTK), TExpire: u.TExpire, TRefresh: u.TRefresh, TReplicate: u.TReplicate,
		OnResult: p.fa.lookupDone, Logger: p.log.With("comp", "dht"),
		Reach: func(a uint64) bool { _, ok := p.pff.NextHop(a); return ok },
	}, p.dhtSend)
	if err != nil {
		return fmt.Errorf("unicast: directory: %w", err)
	}
	p.dht = d
	p.sched = newPsched(p.receive, p.ctx.Done(), &p.wg)
	u.DHTPeer = uint64(p.addr) // enrollees bootstrap their DHT against us
	p.conf, p.layer, p.started = u, layer, true
	p.state = ipcp.StateOperational
	p.wg.Add(2)
	go p.acceptor()
	go p.dhtBootstrap(peer)
	if !p.tickless {
		p.wg.Add(1)
		go p.ticker()
	}
	return nil
}

// tickEvery is the period of the ticker, the resolution of the link-state
// and liveness timers (theirs are whole seconds).
const tickEvery = 250 * time.Millisecond

// ticker runs the periodic tasks of neighbour liveness, link state and the
// directory.
func (p *IPCP) ticker() {
	defer p.wg.Done()
	t := time.NewTicker(tickEvery)
	defer t.Stop()
	for {
		select {
		case <-p.ctx.Done():
			return
		case now := <-t.C:
			p.checkNeighbours(now)
			p.ls.tick(now)
			p.dht.Tick(now)
		}
	}
}

// dhtBootstrap asks the enroller's DHT for our neighbourhood, retrying
// with backoff from 1 ms to 1 s until a route to it exists (spec §8.7),
// and, unlike the reference, until the enroller has answered: the first
// request often goes out before the enroller has a route back, and the
// reference's own retry waits a whole periodic-task round (minutes).
func (p *IPCP) dhtBootstrap(peer uint64) {
	defer p.wg.Done()
	if peer == 0 {
		return
	}
	wait := time.Millisecond
	for {
		if p.dht.Bootstrap() == nil {
			wait = max(wait, 100*time.Millisecond) // time for the answer
		}
		select {
		case <-p.ctx.Done():
			return
		case <-p.kick:
		case <-time.After(wait):
		}
		if p.dht.Knows(peer) { // the enroller answered: it knows us too
			return
		}
		wait = min(2*wait, time.Second)
	}
}

func (p *IPCP) dhtSend(dst uint64, msg []byte) error {
	err := p.sendComp(dst, dtDHTEID, msg)
	if err != nil {
		p.log.Debug("directory message not sent", "to", AddrString(dst), "err", err)
	}
	return err
}

// Reg implements ipcp.IPCP: publish the name in the DHT, until the k
// nodes closest to it hold it (package dir, pub.go).
func (p *IPCP) Reg(hash []byte) error {
	if err := p.operational(); err != nil {
		return err
	}
	if err := p.dht.Reg(hash); err != nil {
		return err
	}
	p.mu.Lock()
	p.regs[string(hash)] = true
	p.mu.Unlock()
	return nil
}

// Unreg implements ipcp.IPCP.
func (p *IPCP) Unreg(hash []byte) error {
	if err := p.operational(); err != nil {
		return err
	}
	p.mu.Lock()
	delete(p.regs, string(hash))
	p.mu.Unlock()
	return p.dht.Unreg(hash)
}

// Query implements ipcp.IPCP: a DHT lookup, waiting for its answer.
func (p *IPCP) Query(ctx context.Context, hash []byte) error {
	if err := p.operational(); err != nil {
		return err
	}
	_, err := p.fa.resolve(ctx, hash)
	return err
}

func (p *IPCP) operational() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.started {
		return fmt.Errorf("%w: not in a layer", errs.ErrIPCPState)
	}
	if p.ctx.Err() != nil {
		return errClosed
	}
	return nil
}

// Close implements ipcp.IPCP.
func (p *IPCP) Close() error {
	p.cancel()
	p.mu.Lock()
	conns := p.conns
	p.conns = nil
	p.state = ipcp.StateShutdown
	p.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
	p.fa.closeAll()
	p.wg.Wait()
	for _, c := range conns {
		p.lower.LowerDealloc(p.id, c.lf.ID)
	}
	return nil
}

// Inspect implements ipcp.Inspector.
func (p *IPCP) Inspect() ipcp.Info {
	p.mu.Lock()
	started := p.started
	var info ipcp.Info
	if started {
		info.Addr = AddrString(uint64(p.addr))
	}
	for _, c := range p.conns {
		if c.comp == ipcp.CompDT || c.comp == ipcp.CompMgmt {
			up := c.up.Load() && !c.silent.Load()
			info.Neighbours = append(info.Neighbours, ipcp.Neighbour{Addr: AddrString(c.peer), Comp: c.comp, Dst: c.dst, Up: up, Cube: c.cube})
		}
	}
	for h := range p.regs {
		info.Names = append(info.Names, []byte(h))
	}
	p.mu.Unlock()
	if started {
		for _, e := range p.pff.Entries() {
			r := ipcp.Route{Dst: AddrString(e.Dst)}
			for _, fd := range e.NextHops {
				if c := (*p.dt.Load())[fd]; c != nil {
					r.NextHops = append(r.NextHops, AddrString(c.peer))
				}
			}
			info.Routes = append(info.Routes, r)
		}
	}
	info.Flows = p.fa.count()
	if started {
		info.Contacts = p.dht.Contacts()
	}
	return info
}

var (
	_ ipcp.IPCP         = (*IPCP)(nil)
	_ ipcp.Enroller     = (*IPCP)(nil)
	_ ipcp.Inspector    = (*IPCP)(nil)
	_ ipcp.LowerWatcher = (*IPCP)(nil)
)

// MaxSDU is the largest SDU the layer carries from here: the smallest of
// what the data-transfer flows below carry, less the PCI; 0 while none
// says. It reads a value kept as flows come and go, so that the IRM may
// ask while it holds its own lock.
func (p *IPCP) MaxSDU() int { return int(p.maxSDU.Load()) }

// resize recomputes MaxSDU; p.mu is held.
func (p *IPCP) resize() {
	m := 0
	for _, c := range p.conns {
		if c.comp == ipcp.CompDT && c.lf.MaxSDU > 0 && (m == 0 || c.lf.MaxSDU < m) {
			m = c.lf.MaxSDU
		}
	}
	if m <= dt.HeaderLen {
		m = dt.HeaderLen
	}
	p.maxSDU.Store(int64(m - dt.HeaderLen))
}
