package udp

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/o7s/ouroboros/stack/errs"
)

// DDNSTimeout bounds one dynamic update (Reg, Unreg).
const DDNSTimeout = 3 * time.Second

// DNSTTL is the time to live of the records Reg adds, s.
const DNSTTL = 86400

// HexName is the DNS host name of a hash: its lowercase hex digits.
func HexName(hash []byte) string { return hex.EncodeToString(hash) }

func checkHash(hash []byte) error {
	if len(hash) != HashLen {
		return fmt.Errorf("%w: a UDP layer hashes names with MD5 (%d bytes), got %d bytes", errs.ErrInvalid, HashLen, len(hash))
	}
	return nil
}

// Reg implements ipcp.IPCP: the name becomes reachable here, and with a
// DNS server configured its record is added there.
func (p *IPCP) Reg(hash []byte) error {
	if err := checkHash(hash); err != nil {
		return err
	}
	p.mu.Lock()
	if err := p.operational(); err != nil {
		p.mu.Unlock()
		return err
	}
	had := p.reg[string(hash)]
	p.reg[string(hash)] = true
	dns, local := p.dns, p.local.Addr()
	p.mu.Unlock()
	if had || !dns.IsValid() {
		return nil
	}
	ctx, cancel := context.WithTimeout(p.ctx, DDNSTimeout)
	defer cancel()
	if err := p.ddnsUpdate(ctx, p.dnsServer(dns), HexName(hash), local); err != nil {
		p.mu.Lock()
		delete(p.reg, string(hash))
		p.mu.Unlock()
		return fmt.Errorf("%w: register %s with the DNS server %v: %w", errs.ErrName, HexName(hash), dns, err)
	}
	p.log.Info("name added to DNS", "name", HexName(hash), "dns", dns, "addr", local)
	return nil
}

// Unreg implements ipcp.IPCP: with a DNS server configured the record is
// deleted there first (a failure is logged), then the name locally.
func (p *IPCP) Unreg(hash []byte) error {
	p.mu.Lock()
	had := p.reg[string(hash)]
	dns := p.dns
	p.mu.Unlock()
	if had && dns.IsValid() {
		ctx, cancel := context.WithTimeout(p.ctx, DDNSTimeout)
		err := p.ddnsUpdate(ctx, p.dnsServer(dns), HexName(hash), netip.Addr{})
		cancel()
		if err != nil {
			p.log.Warn("DNS record not deleted", "name", HexName(hash), "dns", dns, "err", err)
		}
	}
	p.mu.Lock()
	delete(p.reg, string(hash))
	p.mu.Unlock()
	return nil
}

// AddStatic implements ipcp.StaticDir: the name is served by the node at
// addr, on the layer's port.
func (p *IPCP) AddStatic(hash []byte, addr netip.Addr) error {
	return p.AddStaticAddrPort(hash, netip.AddrPortFrom(addr, 0))
}

// AddStaticAddrPort adds a static entry with an explicit port (0 means the
// layer's). This is an extension: reference nodes all use the layer's
// port, so another port only reaches nodes of this implementation, for
// instance several nodes sharing ::1.
func (p *IPCP) AddStaticAddrPort(hash []byte, ap netip.AddrPort) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.addStaticLocked(hash, ap)
}

// addStaticLocked checks and adds a static entry; p.mu is held.
func (p *IPCP) addStaticLocked(hash []byte, ap netip.AddrPort) error {
	if err := checkHash(hash); err != nil {
		return err
	}
	addr, err := p.checkAddr(ap.Addr())
	if err != nil {
		return fmt.Errorf("static entry %s: %w", HexName(hash), err)
	}
	p.static[string(hash)] = netip.AddrPortFrom(addr, ap.Port())
	return nil
}

// lookupLocked finds a hash in the cache, then in the static entries
// (caching the hit); p.mu is held. The port is resolved to the layer's.
func (p *IPCP) lookupLocked(hash []byte) (netip.AddrPort, bool) {
	ap, ok := p.dir[string(hash)]
	if !ok {
		if ap, ok = p.static[string(hash)]; ok {
			p.dir[string(hash)] = ap
		}
	}
	if ok && ap.Port() == 0 {
		ap = netip.AddrPortFrom(ap.Addr(), p.local.Port())
	}
	return ap, ok
}

// Query implements ipcp.IPCP (see the package documentation for the
// order of the look-ups).
func (p *IPCP) Query(ctx context.Context, hash []byte) error {
	if err := checkHash(hash); err != nil {
		return err
	}
	p.mu.Lock()
	err := p.operational()
	_, hit := p.lookupLocked(hash)
	dns := p.dns
	p.mu.Unlock()
	if err != nil || hit {
		return err
	}
	addr, err := p.resolve(ctx, HexName(hash), dns)
	if err != nil {
		return fmt.Errorf("%w: %s is not in the directory of this %v layer: %w", errs.ErrName, HexName(hash), p.typ, err)
	}
	p.mu.Lock()
	p.dir[string(hash)] = netip.AddrPortFrom(addr, 0)
	p.mu.Unlock()
	p.log.Info("name resolved", "name", HexName(hash), "addr", addr)
	return nil
}

// resolve asks the DNS server, if any, then the system resolver.
func (p *IPCP) resolve(ctx context.Context, name string, dns netip.Addr) (netip.Addr, error) {
	var fails []error
	if dns.IsValid() {
		addr, err := p.dnsLookup(ctx, p.dnsServer(dns), name)
		if err == nil {
			return addr, nil
		}
		fails = append(fails, fmt.Errorf("dns server %v: %w", dns, err))
	}
	if ctx.Err() == nil {
		addr, err := p.systemLookup(ctx, name)
		if err == nil {
			return addr, nil
		}
		fails = append(fails, fmt.Errorf("system resolver: %w", err))
	}
	if ctx.Err() != nil {
		fails = append(fails, ctx.Err())
	}
	return netip.Addr{}, errors.Join(fails...)
}

func (p *IPCP) systemLookup(ctx context.Context, name string) (netip.Addr, error) {
	network := "ip4"
	if p.network() == "udp6" {
		network = "ip6"
	}
	addrs, err := p.sysLookup(ctx, network, name)
	if err != nil {
		return netip.Addr{}, err
	}
	for _, a := range addrs {
		if a, err := p.checkAddr(a); err == nil {
			return a, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("%w: no %s address for %s", errs.ErrNotFound, network, name)
}
