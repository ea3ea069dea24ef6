package ctl

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/o7s/ouroboros/stack/errs"
	"github.com/o7s/ouroboros/stack/ipcp"
)

// ConfigToMsg converts a bootstrap configuration for a request. The type
// is the IPCP's; a unicast part with nil Unicast takes every default.
func ConfigToMsg(typ ipcp.Type, c ipcp.Config) *IPCPConfig {
	m := &IPCPConfig{Layer: c.Layer, Type: uint32(typ), HashAlgo: uint32(c.Hash)}
	if typ == ipcp.Local {
		m.Local = &LocalConfig{}
	}
	if e := c.Eth; e != nil {
		m.Eth = &EthConfig{Dev: e.Dev, Ethertype: uint32(e.Ethertype)}
	}
	if u := c.UDP; u != nil {
		m.Udp = &UDPConfig{Addr: addrString(u.Addr), Port: uint32(u.Port), Dns: addrString(u.DNS)}
		if len(u.Static) > 0 {
			m.Udp.Static = make(map[string]string, len(u.Static))
			for name, a := range u.Static {
				m.Udp.Static[name] = a.String()
			}
		}
	}
	if u := c.Unicast; u != nil {
		secs := func(d time.Duration) uint32 { return uint32(d / time.Second) }
		m.Unicast = &UnicastConfig{AddrSize: uint32(u.AddrSize), EidSize: uint32(u.EIDSize), MaxTtl: uint32(u.MaxTTL),
			AddrAuth: uint32(u.AddrAuth), Routing: uint32(u.Routing),
			TRecalc: secs(u.TRecalc), TUpdate: secs(u.TUpdate), TTimeo: secs(u.TTimeo),
			Directory: uint32(u.Dir), DhtAlpha: u.DHTAlpha, DhtK: u.DHTK,
			DhtTExpire: secs(u.TExpire), DhtTRefresh: secs(u.TRefresh), DhtTReplicate: secs(u.TReplicate),
			Congestion: uint32(u.Cong), CongSet: true}
	}
	return m
}

func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

// ConfigFromMsg converts a request's bootstrap configuration back, checking
// that each value fits its field. A unicast part that does not say its
// congestion policy takes MB-ECN, the reference's default.
func ConfigFromMsg(c *IPCPConfig) (ipcp.Config, error) {
	conf := ipcp.Config{Layer: c.GetLayer(), Hash: ipcp.HashAlgo(c.GetHashAlgo())}
	if e := c.GetEth(); e != nil {
		if e.GetEthertype() > 0xFFFF {
			return conf, fmt.Errorf("%w: ethertype %#x does not fit 16 bits", errs.ErrInvalid, e.GetEthertype())
		}
		conf.Eth = &ipcp.EthConfig{Dev: e.GetDev(), Ethertype: uint16(e.GetEthertype())}
	}
	if u := c.GetUnicast(); u != nil {
		if u.GetMaxTtl() > 255 {
			return conf, fmt.Errorf("%w: ttl %d does not fit 8 bits", errs.ErrInvalid, u.GetMaxTtl())
		}
		conf.Unicast = unicastFromMsg(u)
	}
	if u := c.GetUdp(); u != nil {
		udp, err := udpFromMsg(u)
		if err != nil {
			return conf, err
		}
		conf.UDP = udp
	}
	return conf, nil
}

func unicastFromMsg(u *UnicastConfig) *ipcp.UnicastConfig {
	sec := func(v uint32) time.Duration { return time.Duration(v) * time.Second }
	small := func(v uint32) uint8 { return uint8(min(v, 255)) }
	c := &ipcp.UnicastConfig{
		AddrSize: small(u.GetAddrSize()), EIDSize: small(u.GetEidSize()), MaxTTL: small(u.GetMaxTtl()),
		AddrAuth: ipcp.AddrAuth(small(u.GetAddrAuth())), Routing: ipcp.Routing(small(u.GetRouting())),
		TRecalc: sec(u.GetTRecalc()), TUpdate: sec(u.GetTUpdate()), TTimeo: sec(u.GetTTimeo()),
		Dir: ipcp.Directory(small(u.GetDirectory())), DHTAlpha: u.GetDhtAlpha(), DHTK: u.GetDhtK(),
		TExpire: sec(u.GetDhtTExpire()), TRefresh: sec(u.GetDhtTRefresh()), TReplicate: sec(u.GetDhtTReplicate()),
		Cong: ipcp.CongMBECN,
	}
	if u.GetCongSet() {
		c.Cong = ipcp.Congestion(small(u.GetCongestion()))
	}
	return c
}

func udpFromMsg(u *UDPConfig) (*ipcp.UDPConfig, error) {
	if u.GetPort() > 0xFFFF {
		return nil, fmt.Errorf("%w: port %d", errs.ErrInvalid, u.GetPort())
	}
	c := &ipcp.UDPConfig{Port: uint16(u.GetPort())}
	var err error
	if c.Addr, err = netip.ParseAddr(u.GetAddr()); err != nil {
		return nil, fmt.Errorf("%w: ip %q: %w", errs.ErrInvalid, u.GetAddr(), err)
	}
	if u.GetDns() != "" {
		if c.DNS, err = netip.ParseAddr(u.GetDns()); err != nil {
			return nil, fmt.Errorf("%w: dns %q: %w", errs.ErrInvalid, u.GetDns(), err)
		}
	}
	for name, a := range u.GetStatic() {
		addr, err := netip.ParseAddr(a)
		if err != nil {
			return nil, fmt.Errorf("%w: static entry %s=%q: %w", errs.ErrInvalid, name, a, err)
		}
		if c.Static == nil {
			c.Static = make(map[string]netip.Addr)
		}
		c.Static[name] = addr
	}
	return c, nil
}
