package udp

import (
	"context"
	"crypto/md5"
	"errors"
	"net"
	"net/netip"
	"sync"
	"testing"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/o7s/ouroboros/stack/errs"
	"github.com/o7s/ouroboros/stack/ipcp"
)

// fakeDNS is an authoritative server for the root zone on the loopback
// that takes unsigned RFC 2136 updates, as a BIND set up for a UDP layer
// would.
type fakeDNS struct {
	conn *net.UDPConn
	mu   sync.Mutex            // guards the fields below
	recs map[string]netip.Addr // "name./TYPE" → address
	upds []dnsmessage.ResourceHeader
	deny bool // refuse updates
}

// dnsReq is what the fake reads of a message: dnsmessage.Message cannot
// unpack a delete (an A record with no data), so it uses the Parser.
type dnsReq struct {
	h    dnsmessage.Header
	q    dnsmessage.Question
	upds []dnsmessage.ResourceHeader
	data []netip.Addr // of each update; invalid for a delete
}

func parseDNS(b []byte) (*dnsReq, error) {
	var p dnsmessage.Parser
	h, err := p.Start(b)
	if err != nil {
		return nil, err
	}
	r := &dnsReq{h: h}
	if r.q, err = p.Question(); err != nil {
		return nil, err
	}
	p.SkipAllQuestions()
	p.SkipAllAnswers()
	for {
		rh, err := p.AuthorityHeader()
		if errors.Is(err, dnsmessage.ErrSectionDone) {
			return r, nil
		}
		if err != nil {
			return nil, err
		}
		body, err := p.UnknownResource()
		if err != nil {
			return nil, err
		}
		a, _ := netip.AddrFromSlice(body.Data)
		r.upds, r.data = append(r.upds, rh), append(r.data, a)
	}
}

func startDNS(t *testing.T, addr string) *fakeDNS {
	d := &fakeDNS{conn: listen(t, lo(addr, 0)), recs: make(map[string]netip.Addr)}
	done := make(chan struct{})
	t.Cleanup(func() { d.conn.Close(); <-done })
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			n, from, err := d.conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			if r, err := parseDNS(buf[:n]); err == nil {
				if out, err := d.answer(r); err == nil {
					d.conn.WriteToUDPAddrPort(out, from)
				}
			}
		}
	}()
	return d
}

func (d *fakeDNS) port() uint16 { return uint16(d.conn.LocalAddr().(*net.UDPAddr).Port) }

func (d *fakeDNS) get(name string, typ dnsmessage.Type) (netip.Addr, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	a, ok := d.recs[name+"/"+typ.String()]
	return a, ok
}

func (d *fakeDNS) updates() []dnsmessage.ResourceHeader {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.upds
}

func (d *fakeDNS) answer(r *dnsReq) ([]byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	q := r.q
	h := dnsmessage.Header{ID: r.h.ID, Response: true, Authoritative: true, OpCode: r.h.OpCode}
	var ans []dnsmessage.Resource
	switch {
	case r.h.OpCode == opUpdate:
		d.upds = append(d.upds, r.upds...)
		if d.deny || q.Name.String() != "." || q.Type != dnsmessage.TypeSOA {
			h.RCode = dnsmessage.RCodeRefused
			break
		}
		for i, rh := range r.upds {
			key := rh.Name.String() + "/" + rh.Type.String()
			if rh.Class == dnsmessage.ClassANY {
				delete(d.recs, key)
			} else {
				d.recs[key] = r.data[i]
			}
		}
	case q.Type == dnsmessage.TypeA || q.Type == dnsmessage.TypeAAAA:
		a, ok := d.recs[q.Name.String()+"/"+q.Type.String()]
		if !ok {
			h.RCode = dnsmessage.RCodeNameError
			break
		}
		rh := dnsmessage.ResourceHeader{Name: q.Name, Type: q.Type, Class: q.Class, TTL: 60}
		if a.Is4() {
			ans = append(ans, dnsmessage.Resource{Header: rh, Body: &dnsmessage.AResource{A: a.As4()}})
		} else {
			ans = append(ans, dnsmessage.Resource{Header: rh, Body: &dnsmessage.AAAAResource{AAAA: a.As16()}})
		}
	}
	out := dnsmessage.Message{Header: h, Questions: []dnsmessage.Question{q}, Answers: ans}
	if q.Type == dnsmessage.TypeSOA && r.h.OpCode == 0 { // the zone of every name is the root
		root := dnsmessage.MustNewName(".")
		soa := &dnsmessage.SOAResource{NS: dnsmessage.MustNewName("ns."), MBox: dnsmessage.MustNewName("root."), Serial: 1}
		out.Authorities = []dnsmessage.Resource{{Header: dnsmessage.ResourceHeader{Name: root, Type: dnsmessage.TypeSOA, Class: dnsmessage.ClassINET}, Body: soa}}
	}
	return out.Pack()
}

func TestDDNS(t *testing.T) {
	for _, tc := range []struct {
		typ       ipcp.Type
		dns, node string
		rtype     dnsmessage.Type
	}{
		{ipcp.UDP4, "127.0.0.1", "127.0.0.2", dnsmessage.TypeA},
		{ipcp.UDP6, "::1", "::1", dnsmessage.TypeAAAA},
	} {
		t.Run(tc.typ.String(), func(t *testing.T) {
			d := startDNS(t, tc.dns)
			withDNS := func(p *IPCP, c *ipcp.UDPConfig) { c.DNS, p.dnsPort = netip.MustParseAddr(tc.dns), d.port() }
			b := bootstrap(t, tc.typ, newFakeIRM(), lo(tc.node, 0), withDNS)
			name := HexName(srvHash) + "."
			if err := b.Reg(srvHash); err != nil {
				t.Fatal(err)
			}
			if a, ok := d.get(name, tc.rtype); !ok || a != netip.MustParseAddr(tc.node) {
				t.Fatalf("after Reg the server holds %v (%v), want %s", a, ok, tc.node)
			}
			add := d.updates()[0]
			if add.TTL != DNSTTL || add.Class != dnsmessage.ClassINET {
				t.Errorf("added record %+v, want class IN and TTL %d", add, DNSTTL)
			}
			a := bootstrap(t, tc.typ, newFakeIRM(), lo(tc.dns, 0), withDNS)
			if err := a.Query(context.Background(), srvHash); err != nil {
				t.Fatal(err)
			}
			a.mu.Lock()
			got, _ := a.lookupLocked(srvHash)
			a.mu.Unlock()
			if got != netip.AddrPortFrom(netip.MustParseAddr(tc.node), a.LocalAddr().Port()) {
				t.Fatalf("resolved to %v, want %s on the layer's port", got, tc.node)
			}
			if err := b.Unreg(srvHash); err != nil {
				t.Fatal(err)
			}
			if _, ok := d.get(name, tc.rtype); ok {
				t.Fatal("the record outlived Unreg")
			}
			del := d.updates()[1]
			if del.Class != dnsmessage.ClassANY || del.TTL != 0 || del.Type != tc.rtype || del.Length != 0 {
				t.Errorf("delete record %+v, want class ANY, TTL 0, type %v, no data", del, tc.rtype)
			}
			c := bootstrap(t, tc.typ, newFakeIRM(), lo(tc.dns, 0), withDNS)
			if err := c.Query(context.Background(), srvHash); !errors.Is(err, errs.ErrName) {
				t.Fatalf("Query after Unreg = %v, want ErrName", err)
			}
		})
	}
}

func TestDDNSRefusedFailsReg(t *testing.T) {
	d := startDNS(t, "127.0.0.1")
	d.mu.Lock()
	d.deny = true
	d.mu.Unlock()
	p := bootstrap(t, ipcp.UDP4, newFakeIRM(), lo("127.0.0.1", 0), func(p *IPCP, c *ipcp.UDPConfig) {
		c.DNS, p.dnsPort = netip.MustParseAddr("127.0.0.1"), d.port()
	})
	if err := p.Reg(srvHash); !errors.Is(err, errs.ErrName) {
		t.Fatalf("Reg = %v, want ErrName", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.reg[string(srvHash)] {
		t.Fatal("a name the DNS server refused is registered locally")
	}
}

func TestHexName(t *testing.T) {
	h := md5.Sum([]byte("oping"))
	// md5 -s oping
	if got, want := HexName(h[:]), "7862c6fec5ecaef4aa2e3934725e23b3"; got != want {
		t.Fatalf("HexName = %q, want %q", got, want)
	}
}
