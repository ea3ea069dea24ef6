package irm

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/o7s/ouroboros/stack/errs"
	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/stack/ipcp/broadcast"
	"github.com/o7s/ouroboros/stack/ipcp/eth"
	"github.com/o7s/ouroboros/stack/ipcp/local"
	"github.com/o7s/ouroboros/stack/ipcp/udp"
	"github.com/o7s/ouroboros/stack/ipcp/unicast"
)

// ipcpEntry is an IPCP of the node.
type ipcpEntry struct {
	id    uint32
	typ   ipcp.Type
	name  string
	state ipcp.State
	layer ipcp.Layer
	impl  ipcp.IPCP
}

// IPCPInfo describes an IPCP to a client.
type IPCPInfo struct {
	ID    uint32
	Type  ipcp.Type
	Name  string
	Layer string
	Hash  ipcp.HashAlgo
	State ipcp.State
}

// CreateIPCP creates an IPCP in state boot and returns its id.
func (n *Node) CreateIPCP(nm string, typ ipcp.Type) (uint32, error) {
	if nm == "" || len(nm) > MaxName {
		return 0, fmt.Errorf("%w: an IPCP name has 1 to %d bytes", errs.ErrInvalid, MaxName)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return 0, fmt.Errorf("%w: the node is shutting down", errs.ErrNode)
	}
	for _, e := range n.ipcps {
		if e.name == nm {
			return 0, fmt.Errorf("%w: an IPCP named %q exists", errs.ErrExist, nm)
		}
	}
	id := n.nextIPCP
	mk := n.cfg.Constructors[typ]
	if mk == nil {
		mk = constructors[typ]
	}
	if mk == nil {
		return 0, fmt.Errorf("IPCP type %v is not available yet in this onode (available: %s): %w", typ, available(), errs.ErrIPCPType)
	}
	impl := mk(id, n, n.log.With("ipcp", nm))
	n.nextIPCP++
	n.ipcps[id] = &ipcpEntry{id: id, typ: typ, name: nm, state: ipcp.StateBoot, layer: ipcp.Layer{Name: ipcp.NotEnrolled}, impl: impl}
	n.log.Info("IPCP created", "ipcp", nm, "id", id, "type", typ)
	n.notify()
	return id, nil
}

func (n *Node) ipcp(id uint32) (*ipcpEntry, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	e := n.ipcps[id]
	if e == nil {
		return nil, fmt.Errorf("%w: no IPCP with id %d", errs.ErrIPCP, id)
	}
	return e, nil
}

// DestroyIPCP stops an IPCP; its flows end.
func (n *Node) DestroyIPCP(id uint32) error {
	n.mu.Lock()
	e := n.ipcps[id]
	delete(n.ipcps, id)
	n.notify()
	n.mu.Unlock()
	if e == nil {
		return fmt.Errorf("%w: no IPCP with id %d", errs.ErrIPCP, id)
	}
	e.impl.Close()
	n.processGone(ipcpPID(id), nil) // its names, and lower flows it left
	n.log.Info("IPCP destroyed", "ipcp", e.name, "id", id)
	return nil
}

// Constructor makes an IPCP; id identifies it to the IRM.
type Constructor func(id uint32, irm ipcp.IRM, log *slog.Logger) ipcp.IPCP

// constructors make an IPCP of each available type.
var constructors = map[ipcp.Type]Constructor{
	ipcp.Local:     func(id uint32, irm ipcp.IRM, log *slog.Logger) ipcp.IPCP { return local.New(id, irm, log) },
	ipcp.Unicast:   unicast.New,
	ipcp.Broadcast: broadcast.New,
	ipcp.EthDIX:    eth.NewDIX,
	ipcp.EthLLC:    eth.NewLLC,
	ipcp.UDP4:      udp.New4,
	ipcp.UDP6:      udp.New6,
}

func available() string {
	var l []string
	for t := ipcp.Local; t <= ipcp.UDP6; t++ {
		if constructors[t] != nil {
			l = append(l, t.String())
		}
	}
	return strings.Join(l, ", ")
}

// checkConf checks a bootstrap configuration against the IPCP's type and
// applies the reference's rules (UDP layers hash with MD5).
func checkConf(typ ipcp.Type, conf *ipcp.Config) error {
	if conf.Layer == "" || len(conf.Layer) > MaxName {
		return fmt.Errorf("%w: a layer name has 1 to %d bytes", errs.ErrInvalid, MaxName)
	}
	switch typ {
	case ipcp.UDP4, ipcp.UDP6:
		conf.Hash = ipcp.MD5
		if conf.UDP == nil || !conf.UDP.Addr.IsValid() || conf.UDP.Addr.IsUnspecified() {
			return fmt.Errorf("%w: a %v IPCP needs the address to bind (ip)", errs.ErrInvalid, typ)
		}
		if conf.UDP.Addr.Is4() != (typ == ipcp.UDP4) {
			return fmt.Errorf("%w: address %v does not suit a %v IPCP", errs.ErrInvalid, conf.UDP.Addr, typ)
		}
		if conf.UDP.Port == 0 {
			conf.UDP.Port = ipcp.DefaultUDPPort
		}
	case ipcp.EthDIX, ipcp.EthLLC:
		if conf.Eth == nil || conf.Eth.Dev == "" || len(conf.Eth.Dev) > 15 {
			return fmt.Errorf("%w: an %v IPCP needs an interface name of 1 to 15 bytes (dev)", errs.ErrInvalid, typ)
		}
		if typ == ipcp.EthDIX {
			if conf.Eth.Ethertype == 0 {
				conf.Eth.Ethertype = ipcp.DefaultEthertype
			}
			if conf.Eth.Ethertype < 0x0600 || conf.Eth.Ethertype == 0xFFFF {
				return fmt.Errorf("%w: ethertype %#04x is not in 0x0600..0xFFFE (0xA000..0xEFFF recommended)", errs.ErrInvalid, conf.Eth.Ethertype)
			}
		}
	case ipcp.Broadcast:
		conf.Hash = ipcp.SHA3_256
	case ipcp.Unicast:
		if conf.Unicast == nil {
			conf.Unicast = &ipcp.UnicastConfig{Cong: ipcp.CongMBECN}
		}
		u := conf.Unicast
		u.Defaults()
		u.EIDSize = 8 // the reference warns and forces 8
		switch {
		case u.AddrSize != 4:
			return fmt.Errorf("%w: address size %d: the flat address authority takes 4 bytes only (addr 4)", errs.ErrInvalid, u.AddrSize)
		case u.AddrAuth != ipcp.AddrAuthFlat:
			return fmt.Errorf("%w: address authority %d: only flat (0) exists", errs.ErrInvalid, u.AddrAuth)
		case u.Dir != ipcp.DirDHT:
			return fmt.Errorf("%w: directory %d: only DHT (0) exists", errs.ErrInvalid, u.Dir)
		case u.Routing > 2:
			return fmt.Errorf("%w: routing policy %d: link_state (0), lfa (1) or ecmp (2)", errs.ErrInvalid, u.Routing)
		case u.Cong > ipcp.CongMBECN:
			return fmt.Errorf("%w: congestion avoidance %d: none (0) or mb-ecn (1)", errs.ErrInvalid, u.Cong)
		case u.TUpdate < time.Second || u.TTimeo < u.TUpdate || u.TRecalc < time.Second:
			return fmt.Errorf("%w: link-state timers: t_update %v and t_recalc %v need at least 1 s, t_timeo %v at least t_update", errs.ErrInvalid, u.TUpdate, u.TRecalc, u.TTimeo)
		case u.DHTK == 0 || u.DHTAlpha == 0 || u.DHTAlpha > u.DHTK:
			return fmt.Errorf("%w: dht_alpha %d must be 1..dht_k (%d)", errs.ErrInvalid, u.DHTAlpha, u.DHTK)
		}
	}
	if conf.Hash.Len() == 0 {
		return fmt.Errorf("%w: unknown hash algorithm %d", errs.ErrInvalid, conf.Hash)
	}
	return nil
}

// BootstrapIPCP bootstraps an IPCP into a new layer.
func (n *Node) BootstrapIPCP(ctx context.Context, id uint32, conf ipcp.Config) error {
	e, err := n.ipcp(id)
	if err != nil {
		return err
	}
	if err := checkConf(e.typ, &conf); err != nil {
		return err
	}
	layer, err := e.impl.Bootstrap(ctx, conf)
	if err != nil {
		return fmt.Errorf("bootstrap %s: %w", e.name, err)
	}
	n.mu.Lock()
	e.layer, e.state = layer, ipcp.StateOperational
	n.notify()
	n.mu.Unlock()
	return nil
}

// ListIPCPs lists the IPCPs in registry order.
func (n *Node) ListIPCPs() []IPCPInfo {
	n.mu.Lock()
	defer n.mu.Unlock()
	var l []IPCPInfo
	for _, e := range n.sortedIPCPs() {
		l = append(l, IPCPInfo{ID: e.id, Type: e.typ, Name: e.name, Layer: e.layer.Name, Hash: e.layer.Hash, State: e.state})
	}
	return l
}

// RegName registers a name in the layer of an IPCP.
func (n *Node) RegName(nm string, id uint32) error {
	e, hash, err := n.regArgs(nm, id)
	if err != nil {
		return err
	}
	if err := e.impl.Reg(hash); err != nil {
		return fmt.Errorf("register %q in %s: %w", nm, e.name, err)
	}
	n.log.Info("name registered", "name", nm, "ipcp", e.name, "layer", e.layer.Name)
	return nil
}

// UnregName unregisters a name from the layer of an IPCP.
func (n *Node) UnregName(nm string, id uint32) error {
	e, hash, err := n.regArgs(nm, id)
	if err != nil {
		return err
	}
	return e.impl.Unreg(hash)
}

func (n *Node) regArgs(nm string, id uint32) (*ipcpEntry, []byte, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.names[nm] == nil {
		return nil, nil, fmt.Errorf("%w: name %q does not exist (create it with 'irm name create %s')", errs.ErrName, nm, nm)
	}
	e := n.ipcps[id]
	if e == nil {
		return nil, nil, fmt.Errorf("%w: no IPCP with id %d", errs.ErrIPCP, id)
	}
	if e.state != ipcp.StateOperational {
		return nil, nil, fmt.Errorf("%w: IPCP %s is not in a layer yet (bootstrap it first)", errs.ErrIPCPState, e.name)
	}
	return e, e.layer.Hash.Sum(nm), nil
}
