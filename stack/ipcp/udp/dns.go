package udp

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/o7s/ouroboros/stack/errs"
	"github.com/o7s/ouroboros/stack/ipcp"
)

// A tiny DNS client for the configured server: A/AAAA look-ups and RFC
// 2136 dynamic updates, over UDP. Control plane only.

const (
	dnsAttempt  = time.Second // one try before sending again
	dnsAttempts = 3
	dnsMaxMsg   = 4096
	opUpdate    = dnsmessage.OpCode(5) // RFC 2136
)

var errNoSOA = errors.New("the server names no zone (SOA) for the name")

// recordType is A for udp4 and AAAA for udp6.
func (p *IPCP) recordType() dnsmessage.Type {
	if p.typ == ipcp.UDP6 {
		return dnsmessage.TypeAAAA
	}
	return dnsmessage.TypeA
}

func (p *IPCP) dnsServer(dns netip.Addr) netip.AddrPort { return netip.AddrPortFrom(dns, p.dnsPort) }

// dnsLookup asks server for the address of name (a relative host name,
// looked up as a fully qualified one so no search list applies).
func (p *IPCP) dnsLookup(ctx context.Context, server netip.AddrPort, name string) (netip.Addr, error) {
	fqdn, err := dnsmessage.NewName(name + ".")
	if err != nil {
		return netip.Addr{}, err
	}
	q := dnsmessage.Question{Name: fqdn, Type: p.recordType(), Class: dnsmessage.ClassINET}
	resp, err := dnsExchange(ctx, server, dnsmessage.Header{RecursionDesired: true}, q, nil)
	if err != nil {
		return netip.Addr{}, err
	}
	if resp.RCode != dnsmessage.RCodeSuccess {
		return netip.Addr{}, fmt.Errorf("%w: server answered %v", errs.ErrNotFound, resp.RCode)
	}
	for _, rr := range resp.Answers {
		switch b := rr.Body.(type) {
		case *dnsmessage.AResource:
			if p.typ == ipcp.UDP4 {
				return netip.AddrFrom4(b.A), nil
			}
		case *dnsmessage.AAAAResource:
			if p.typ == ipcp.UDP6 {
				return netip.AddrFrom16(b.AAAA), nil
			}
		}
	}
	return netip.Addr{}, fmt.Errorf("%w: no %v record for %s", errs.ErrNotFound, p.recordType(), name)
}

// ddnsUpdate adds the record "name TTL A|AAAA addr" at server, or deletes
// every such record of name when addr is invalid.
func (p *IPCP) ddnsUpdate(ctx context.Context, server netip.AddrPort, name string, addr netip.Addr) error {
	fqdn, err := dnsmessage.NewName(name + ".")
	if err != nil {
		return err
	}
	zone, err := dnsZone(ctx, server, fqdn)
	if err != nil {
		return err
	}
	q := dnsmessage.Question{Name: zone, Type: dnsmessage.TypeSOA, Class: dnsmessage.ClassINET}
	update := func(b *dnsmessage.Builder) error {
		if err := b.StartAuthorities(); err != nil { // the update section
			return err
		}
		switch {
		case !addr.IsValid(): // delete an RRset: class ANY, TTL 0, no data
			h := dnsmessage.ResourceHeader{Name: fqdn, Class: dnsmessage.ClassANY}
			return b.UnknownResource(h, dnsmessage.UnknownResource{Type: p.recordType()})
		case addr.Is4():
			h := dnsmessage.ResourceHeader{Name: fqdn, Class: dnsmessage.ClassINET, TTL: DNSTTL}
			return b.AResource(h, dnsmessage.AResource{A: addr.As4()})
		default:
			h := dnsmessage.ResourceHeader{Name: fqdn, Class: dnsmessage.ClassINET, TTL: DNSTTL}
			return b.AAAAResource(h, dnsmessage.AAAAResource{AAAA: addr.As16()})
		}
	}
	resp, err := dnsExchange(ctx, server, dnsmessage.Header{OpCode: opUpdate}, q, update)
	if err != nil {
		return err
	}
	if resp.RCode != dnsmessage.RCodeSuccess {
		return fmt.Errorf("update of zone %v refused: %v", zone, resp.RCode)
	}
	return nil
}

// dnsZone finds the zone that holds name the way nsupdate does: from the
// SOA record in the answer to an SOA query for the name.
func dnsZone(ctx context.Context, server netip.AddrPort, name dnsmessage.Name) (dnsmessage.Name, error) {
	q := dnsmessage.Question{Name: name, Type: dnsmessage.TypeSOA, Class: dnsmessage.ClassINET}
	resp, err := dnsExchange(ctx, server, dnsmessage.Header{}, q, nil)
	if err != nil {
		return dnsmessage.Name{}, fmt.Errorf("find the zone: %w", err)
	}
	for _, rrs := range [][]dnsmessage.Resource{resp.Answers, resp.Authorities} {
		for _, rr := range rrs {
			if rr.Header.Type == dnsmessage.TypeSOA {
				return rr.Header.Name, nil
			}
		}
	}
	return dnsmessage.Name{}, fmt.Errorf("find the zone (%v): %w", resp.RCode, errNoSOA)
}

// dnsExchange sends a message with one question (and whatever more adds)
// to server and returns the answer with the same id, sending again after
// each dnsAttempt without one.
func dnsExchange(ctx context.Context, server netip.AddrPort, h dnsmessage.Header, q dnsmessage.Question,
	more func(*dnsmessage.Builder) error) (*dnsmessage.Message, error) {
	h.ID = uint16(rand.Uint32())
	b := dnsmessage.NewBuilder(nil, h)
	err := b.StartQuestions()
	if err == nil {
		err = b.Question(q)
	}
	if err == nil && more != nil {
		err = more(&b)
	}
	msg, err := b.Finish()
	if err != nil {
		return nil, fmt.Errorf("build dns message: %w", err)
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "udp", server.String())
	if err != nil {
		return nil, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	buf := make([]byte, dnsMaxMsg)
	for range dnsAttempts {
		if _, err := c.Write(msg); err != nil {
			return nil, err
		}
		resp, err := dnsRead(ctx, c, buf, h.ID)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			return resp, err
		}
	}
	return nil, fmt.Errorf("%w: no answer from %v", errs.ErrTimeout, server)
}

// dnsRead waits up to dnsAttempt, and not past ctx's deadline, for the
// response with the given id, skipping anything else.
func dnsRead(ctx context.Context, c net.Conn, buf []byte, id uint16) (*dnsmessage.Message, error) {
	deadline := time.Now().Add(dnsAttempt)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	c.SetReadDeadline(deadline)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return nil, err
		}
		var m dnsmessage.Message
		if m.Unpack(buf[:n]) == nil && m.Header.Response && m.Header.ID == id {
			return &m, nil
		}
	}
}
