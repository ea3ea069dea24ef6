package irmcli

import (
	"errors"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/o7s/ouroboros/stack/ctl"
	"github.com/o7s/ouroboros/stack/errs"
	"github.com/o7s/ouroboros/stack/ipcp"
)

const bootstrapUsage = `Usage: irm ipcp bootstrap
           name <ipcp name>
           layer <layer name>
           [type [TYPE]]
where TYPE in ` + typeList + `,

if TYPE == unicast
        [addr_auth <ADDRESS_POLICY> (default: flat)]
        [directory <DIRECTORY_POLICY> (default: DHT)]
        [hash [ALGORITHM] (default: SHA3_256)]
        [routing <ROUTING_POLICY> (default: link_state)]
        [congestion <CONG_POLICY> (default: mb-ecn)]
        [autobind]

where ADDRESS_POLICY in {flat}
    DIRECTORY_POLICY in {DHT}
    ALGORITHM in {SHA3_224 SHA3_256 SHA3_384 SHA3_512}
    ROUTING_POLICY in {link_state lfa ecmp}
    CONG_POLICY in {none mb-ecn}
    [Data Transfer Constants]
        [addr <address size> (default: 4)]
        [eid <eid size> (default: 8)]
        [ttl <max time-to-live> (default: 60)]

if DIRECTORY_POLICY == DHT
        [dht_alpha <search factor> (default: 3)]
        [dht_k <replication factor> (default: 8)]
        [dht_t_expire <expiration (s)> (default: 86400)]
        [dht_t_refresh <contact refresh (s)> (default: 900)]
        [dht_t_replicate <replication (s)> (default: 900)]

if ROUTING_POLICY == link_state
        [ls_t_recalc <pff recalc interval (s)> (default: 4)]
        [ls_t_update <LSA update interval (s)> (default: 15)]
        [ls_t_timeo  <link timeout (s)> (default: 60)]

if TYPE == udp4
        ip <IP address in dotted notation>
        [port <UDP port> (default: 3435)]
        [dns <DDNS IPv4 address in dotted notation> (default: none)]
        [static <name>=<IPv4 address>]...

if TYPE == udp6
        ip <IPv6 address>
        [port <UDP port> (default: 3435)]
        [dns <DDNS IPv6 address> (default: none)]
        [static <name>=<IPv6 address>]...

    static (an addition of this implementation) gives the layer's directory
    the address of the node that serves a name; repeat it for more names.

if TYPE == eth-llc
        dev <interface name>
        [hash [ALGORITHM] (default: SHA3_256)]
where ALGORITHM in {SHA3_224 SHA3_256 SHA3_384 SHA3_512}

if TYPE == eth-dix
        dev <interface name>
        [ethertype <ethertype> (default: 0xA000)]
        [hash [ALGORITHM] (default: SHA3_256)]
where ALGORITHM in {SHA3_224 SHA3_256 SHA3_384 SHA3_512}

if TYPE == local
        [hash [ALGORITHM] (default: SHA3_256)]
where ALGORITHM in {SHA3_224 SHA3_256 SHA3_384 SHA3_512}

if TYPE == broadcast
        [autobind]

`

// bootTypes is the order in which a bootstrap type value is prefix-matched
// (the reference's: "eth" is eth-dix, "udp" is udp4).
var bootTypes = []ipcp.Type{ipcp.Unicast, ipcp.Broadcast, ipcp.UDP4, ipcp.UDP6, ipcp.EthDIX, ipcp.EthLLC, ipcp.Local}

// bootArgs is a parsed irm ipcp bootstrap.
type bootArgs struct {
	name, layer string
	typ         string // as given; "" when absent
	hash        ipcp.HashAlgo
	autobind    bool
	typed       typeConf
}

// typeConf holds the type-specific options, parsed and checked as the
// reference does.
type typeConf struct {
	ip, dns, dev                        string
	static                              map[string]string
	port, ethertype                     uint16
	addr, eid, ttl                      uint8
	addrAuth                            ipcp.AddrAuth
	directory                           ipcp.Directory
	routing                             ipcp.Routing
	congest                             ipcp.Congestion
	dhtAlpha, dhtK                      uint32
	dhtExpire, dhtRefresh, dhtReplicate uint32
	lsTimeo, lsUpdate, lsRecalc         uint32
}

func parseBootstrap(args []string) (*bootArgs, error) {
	b := &bootArgs{hash: ipcp.DefaultHash, typed: typeConf{port: 3435, ethertype: 0xA000, addr: 4, eid: 8, ttl: 60,
		dhtAlpha: 3, dhtK: 8, dhtExpire: 86400, dhtRefresh: 900, dhtReplicate: 900,
		lsTimeo: 60, lsUpdate: 15, lsRecalc: 4, congest: ipcp.CongMBECN}}
	if _, err := b.optSet().parse(args); err != nil {
		return nil, err
	}
	if b.name == "" || b.layer == "" {
		return nil, &usageError{usage: bootstrapUsage}
	}
	if len(b.layer) > maxName {
		return nil, &usageError{note: "Layer name too long.", usage: bootstrapUsage}
	}
	return b, nil
}

func (b *bootArgs) optSet() optSet {
	t := &b.typed
	return optSet{
		opts: []opt{
			str("type", &b.typ), str("layer", &b.layer), str("name", &b.name),
			{keyword: "hash", set: b.setHash},
			str("ip", &t.ip), str("dns", &t.dns), str("device", &t.dev),
			{keyword: "ethertype", set: t.setEthertype},
			uintOpt("addr", &t.addr, 8), uintOpt("eid", &t.eid, 8), uintOpt("ttl", &t.ttl, 8),
			uintOpt("port", &t.port, 16), flag("autobind", &b.autobind),
			{keyword: "static", set: t.addStatic},
			policy("addr_auth", &t.addrAuth, ipcp.ParseAddrAuth), policy("directory", &t.directory, ipcp.ParseDirectory),
			uintOpt("dht_alpha", &t.dhtAlpha, 32), uintOpt("dht_k", &t.dhtK, 32),
			uintOpt("dht_t_expire", &t.dhtExpire, 32), uintOpt("dht_t_refresh", &t.dhtRefresh, 32),
			uintOpt("dht_t_replicate", &t.dhtReplicate, 32),
			policy("routing", &t.routing, ipcp.ParseRouting),
			uintOpt("ls_t_timeo", &t.lsTimeo, 32), uintOpt("ls_t_update", &t.lsUpdate, 32),
			uintOpt("ls_t_recalc", &t.lsRecalc, 32),
			policy("congestion", &t.congest, ipcp.ParseCongestion),
		},
		usage:   bootstrapUsage,
		unknown: "Unknown option: %q.",
	}
}

func (b *bootArgs) setHash(v string) error {
	h, err := ipcp.ParseHashAlgo(v)
	if err != nil {
		return textf("Unknown parameter for hash: %q.", v)
	}
	b.hash = h
	return nil
}

// addStatic takes one static directory entry, name=address.
func (t *typeConf) addStatic(v string) error {
	name, addr, ok := strings.Cut(v, "=")
	if _, err := netip.ParseAddr(addr); !ok || name == "" || err != nil {
		return &usageError{note: textf("Invalid static entry %q: want <name>=<address>.", v).Error(), usage: bootstrapUsage}
	}
	if t.static == nil {
		t.static = make(map[string]string)
	}
	t.static[name] = addr
	return nil
}

func (t *typeConf) setEthertype(v string) error {
	hex := strings.TrimPrefix(strings.TrimPrefix(v, "0x"), "0X")
	n, err := strconv.ParseUint(hex, 16, 32)
	if err != nil || n < 0x0600 || n >= 0xFFFF {
		return textf("Invalid Ethertype: %q.\nRecommended range: 0xA000-0xEFFF.", v)
	}
	t.ethertype = uint16(n)
	return nil
}

// bootType parses the type value by prefix.
func bootType(s string) (ipcp.Type, bool) {
	for _, t := range bootTypes {
		if matches(s, t.String()) {
			return t, true
		}
	}
	return 0, false
}

// check applies the reference's checks of the options type t needs.
func (t *typeConf) check(typ ipcp.Type) error {
	switch typ {
	case ipcp.UDP4, ipcp.UDP6:
		return t.checkUDP(typ == ipcp.UDP6)
	case ipcp.EthDIX, ipcp.EthLLC:
		if t.dev == "" {
			return &usageError{note: "An Ethernet IPCP needs dev <interface name>.", usage: bootstrapUsage}
		}
		if len(t.dev) > maxName {
			return &usageError{note: "Device name too long.", usage: bootstrapUsage}
		}
	}
	return nil
}

func (t *typeConf) checkUDP(v6 bool) error {
	fam := "IPv4"
	if v6 {
		fam = "IPv6"
	}
	ip, err := netip.ParseAddr(t.ip)
	if err != nil || ip.Is6() != v6 || ip.Zone() != "" {
		return &usageError{note: textf("Invalid %s address: %q.", fam, t.ip).Error(), usage: bootstrapUsage}
	}
	if ip.IsUnspecified() {
		return &usageError{note: textf("Cannot use %s address: %q.", fam, t.ip).Error(), usage: bootstrapUsage}
	}
	if t.dns == "" {
		return nil
	}
	if dns, err := netip.ParseAddr(t.dns); err != nil || dns.Is6() != v6 {
		return &usageError{note: textf("Invalid DNS %s address: %q.", fam, t.dns).Error(), usage: bootstrapUsage}
	}
	return nil
}

func (c *cli) ipcpBootstrap(args []string) error {
	b, err := parseBootstrap(args)
	if err != nil {
		return err
	}
	var typ ipcp.Type
	if b.typ != "" {
		var ok bool
		if typ, ok = bootType(b.typ); !ok {
			return &usageError{note: textf("IPCP type %q is unknown.", b.typ).Error(), usage: bootstrapUsage}
		}
		if err := b.typed.check(typ); err != nil {
			return err
		}
	}
	ipcps, err := c.listIPCPs()
	if err != nil {
		return err
	}
	if !anyIPCP(ipcps, b.name) {
		if b.typ == "" {
			return textf("No IPCPs matching %s found.", b.name)
		}
		if _, err := c.createIPCP(b.name, typ); err != nil {
			return err
		}
		if ipcps, err = c.listIPCPs(); err != nil {
			return err
		}
	}
	for _, p := range ipcps {
		if !wildcard(p.GetName(), b.name) {
			continue
		}
		if b.typ != "" && p.GetType() != uint32(typ) {
			return textError("Types do not match.")
		}
		if err := c.bootstrapOne(p, b); err != nil {
			return err
		}
	}
	return nil
}

// anyIPCP reports whether an IPCP matches name; as in the reference, the
// existing IPCP's name is the wildcard pattern.
func anyIPCP(ipcps []*ctl.IPCPInfo, name string) bool {
	for _, p := range ipcps {
		if wildcard(p.GetName(), name) {
			return true
		}
	}
	return false
}

func (c *cli) bootstrapOne(p *ctl.IPCPInfo, b *bootArgs) error {
	typ := ipcp.Type(min(p.GetType(), 255))
	if err := b.typed.check(typ); err != nil {
		return err
	}
	autobind := b.autobind
	if autobind && typ != ipcp.Unicast && typ != ipcp.Broadcast {
		c.warnf("Cannot bind this IPCP type, autobind disabled.")
		autobind = false
	}
	conf, err := b.config(typ)
	if err != nil {
		return err
	}
	var bound []string
	if autobind {
		var err error
		if bound, err = c.autobind(p, p.GetName(), b.layer); err != nil {
			return err
		}
	}
	if err := c.node.Bootstrap(c.ctx, p.GetId(), typ, conf); err != nil {
		c.unbindAll(p, bound)
		return err
	}
	return nil
}

// autobind binds an IPCP to its name and its layer's, as the reference's
// autobind does, creating the names if need be. It returns what it bound.
func (c *cli) autobind(p *ctl.IPCPInfo, names ...string) ([]string, error) {
	var bound []string
	for _, nm := range names {
		c.node.CreateName(c.ctx, nm, ctl.RoundRobin) // may exist
		if err := c.node.BindIPCP(c.ctx, p.GetId(), nm); err != nil {
			if errors.Is(err, errs.ErrExist) {
				continue
			}
			c.unbindAll(p, bound)
			return nil, textf("Failed to bind %s to %s: %v", p.GetName(), nm, err)
		}
		bound = append(bound, nm)
	}
	return bound, nil
}

func (c *cli) unbindAll(p *ctl.IPCPInfo, names []string) {
	for _, nm := range names {
		c.node.UnbindIPCP(c.ctx, p.GetId(), nm)
	}
}

// config is the bootstrap configuration for an IPCP of type typ, whose
// options check has passed.
func (b *bootArgs) config(typ ipcp.Type) (ipcp.Config, error) {
	conf := ipcp.Config{Layer: b.layer, Hash: b.hash}
	t := &b.typed
	switch typ {
	case ipcp.EthDIX, ipcp.EthLLC:
		conf.Eth = &ipcp.EthConfig{Dev: t.dev, Ethertype: t.ethertype}
	case ipcp.UDP4, ipcp.UDP6:
		u := &ipcp.UDPConfig{Port: t.port}
		var err error
		if u.Addr, err = netip.ParseAddr(t.ip); err != nil {
			return conf, textf("Invalid address: %q.", t.ip)
		}
		if t.dns != "" {
			if u.DNS, err = netip.ParseAddr(t.dns); err != nil {
				return conf, textf("Invalid DNS address: %q.", t.dns)
			}
		}
		for name, a := range t.static {
			addr, err := netip.ParseAddr(a)
			if err != nil {
				return conf, textf("Invalid static entry %q: want <name>=<address>.", name+"="+a)
			}
			if u.Static == nil {
				u.Static = make(map[string]netip.Addr, len(t.static))
			}
			u.Static[name] = addr
		}
		conf.UDP = u
	case ipcp.Unicast:
		secs := func(v uint32) time.Duration { return time.Duration(v) * time.Second }
		conf.Unicast = &ipcp.UnicastConfig{AddrSize: t.addr, EIDSize: t.eid, MaxTTL: t.ttl,
			AddrAuth: t.addrAuth, Routing: t.routing, TRecalc: secs(t.lsRecalc), TUpdate: secs(t.lsUpdate), TTimeo: secs(t.lsTimeo),
			Dir: t.directory, DHTAlpha: t.dhtAlpha, DHTK: t.dhtK,
			TExpire: secs(t.dhtExpire), TRefresh: secs(t.dhtRefresh), TReplicate: secs(t.dhtReplicate),
			Cong: t.congest}
	}
	return conf, nil
}
