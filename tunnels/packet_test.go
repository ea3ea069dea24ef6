package tunnels

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"net/netip"
	"strings"
	"testing"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// v4pkt is an IPv4 UDP packet 10.0.0.1 -> 10.0.0.2 of n bytes with DF
// set (the checksums are not those of a real packet: nothing checks them).
func v4pkt(n int, df bool) []byte {
	p := make([]byte, n)
	p[0] = 0x45
	binary.BigEndian.PutUint16(p[2:], uint16(n))
	if df {
		p[6] = 0x40
	}
	p[8], p[9] = 64, 17
	copy(p[12:], []byte{10, 0, 0, 1})
	copy(p[16:], []byte{10, 0, 0, 2})
	for i := 20; i < n; i++ {
		p[i] = byte(i)
	}
	return p
}

// v6pkt is an IPv6 UDP packet fd00::1 -> fd00::2 of n bytes.
func v6pkt(n int) []byte {
	p := make([]byte, n)
	p[0] = 0x60
	binary.BigEndian.PutUint16(p[4:], uint16(n-IPv6HeaderLen))
	p[6], p[7] = 17, 64
	copy(p[8:], netip.MustParseAddr("fd00::1").AsSlice())
	copy(p[24:], netip.MustParseAddr("fd00::2").AsSlice())
	for i := 40; i < n; i++ {
		p[i] = byte(i)
	}
	return p
}

func unhex(s string) []byte {
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		panic(err)
	}
	return b
}

func TestCheckIP(t *testing.T) {
	short6 := v6pkt(60)
	binary.BigEndian.PutUint16(short6[4:], 100)
	jumbo := v6pkt(60)
	binary.BigEndian.PutUint16(jumbo[4:], 0)
	jumbo[6] = 0
	badIHL := v4pkt(40, false)
	badIHL[0] = 0x44
	longIHL := v4pkt(40, false)
	longIHL[0] = 0x4f // 60 > 40
	totShort := v4pkt(40, false)
	binary.BigEndian.PutUint16(totShort[2:], 10)
	for _, tc := range []struct {
		name string
		p    []byte
		n    int
		d    Drop
	}{
		{"v4", v4pkt(100, true), 100, DropNone},
		{"v4 padded", append(v4pkt(60, true), 0, 0, 0, 0), 60, DropNone},
		{"v6", v6pkt(100), 100, DropNone},
		{"v6 padded", append(v6pkt(60), 1, 2), 60, DropNone},
		{"empty", nil, 0, DropTruncated},
		{"v4 truncated", v4pkt(100, true)[:19], 0, DropTruncated},
		{"v6 truncated", v6pkt(100)[:39], 0, DropTruncated},
		{"v4 cut", v4pkt(100, true)[:60], 0, DropBadLength},
		{"v4 ihl < 5", badIHL, 0, DropBadLength},
		{"v4 ihl past end", longIHL, 0, DropBadLength},
		{"v4 total < ihl", totShort, 0, DropBadLength},
		{"v6 payload past end", short6, 0, DropBadLength},
		{"v6 jumbogram", jumbo, 0, DropBadLength},
		{"ethernet frame", unhex("ffffffffffff 020000000001 0806 0001"), 0, DropNotIP},
		{"version 0", make([]byte, 40), 0, DropNotIP},
	} {
		n, d := CheckIP(tc.p)
		if n != tc.n || d != tc.d {
			t.Errorf("%s: CheckIP = %d, %v; want %d, %v", tc.name, n, d, tc.n, tc.d)
		}
	}
}

func TestAddresses(t *testing.T) {
	k, multi := ipDst(v4pkt(40, false))
	if k != (key{10, 0, 0, 2, 15: 4}) || multi {
		t.Errorf("ipDst v4 = %v, %v", k, multi)
	}
	if k := ipSrc(v6pkt(40)); k != key(netip.MustParseAddr("fd00::1").As16()) {
		t.Errorf("ipSrc v6 = %v", k)
	}
	bc := v4pkt(40, false)
	copy(bc[16:], []byte{255, 255, 255, 255})
	mc := v6pkt(40)
	mc[24] = 0xff
	if _, multi := ipDst(bc); !multi {
		t.Error("255.255.255.255 is not broadcast")
	}
	if _, multi := ipDst(mc); !multi {
		t.Error("ff.. is not multicast")
	}
	f := unhex("0200000000aa 0200000000bb 0800")
	if k, multi := macDst(f); multi || k != (key{2, 0, 0, 0, 0, 0xaa, 15: 1}) {
		t.Errorf("macDst = %v %v", k, multi)
	}
	if k := macSrc(f); k != (key{2, 0, 0, 0, 0, 0xbb, 15: 1}) {
		t.Errorf("macSrc = %v", k)
	}
}

// The golden ICMP errors: layouts by RFC 792/1191 and RFC 4443, checksums
// verified with an independent implementation (a few lines of Python) and,
// in TestTooBigParses, with x/net/icmp.
var (
	golden4 = unhex(`
		45c0 0044 0000 0000 4001 64fb 0a00 00fe 0a00 0001
		0304 f5c9 0000 0514
		4500 05dc 0000 4000 4011 0000 0a00 0001 0a00 0002
		1415 1617 1819 1a1b 1c1d 1e1f 2021 2223 2425 2627`)
	golden6 = unhex(`
		6000 0000 0068 3a40
		fd00 0000 0000 0000 0000 0000 0000 00fe
		fd00 0000 0000 0000 0000 0000 0000 0001
		0200 3668 0000 0500
		6000 0000 0038 1140
		fd00 0000 0000 0000 0000 0000 0000 0001
		fd00 0000 0000 0000 0000 0000 0000 0002
		2829 2a2b 2c2d 2e2f 3031 3233 3435 3637 3839 3a3b 3c3d 3e3f
		4041 4243 4445 4647 4849 4a4b 4c4d 4e4f 5051 5253 5455 5657 5859 5a5b 5c5d 5e5f`)
)

func TestTooBigGolden(t *testing.T) {
	// the packets are cut to keep the golden bytes short: AppendTooBig
	// quotes what it is given
	p4 := v4pkt(1500, true)[:40]
	got, ok := AppendTooBig(nil, p4, 1300, netip.MustParseAddr("10.0.0.254"))
	if !ok || !bytes.Equal(got, golden4) {
		t.Errorf("IPv4:\n got %x\nwant %x", got, golden4)
	}
	p6 := v6pkt(1500)[:96]
	binary.BigEndian.PutUint16(p6[4:], 56)
	got, ok = AppendTooBig([]byte{0xaa}, p6, 1280, netip.MustParseAddr("fd00::fe"))
	if !ok || got[0] != 0xaa || !bytes.Equal(got[1:], golden6) {
		t.Errorf("IPv6:\n got %x\nwant %x", got[1:], golden6)
	}
}

// TestTooBigParses reads the errors back with x/net, which checks what it
// can, and checks the checksums.
func TestTooBigParses(t *testing.T) {
	p4 := v4pkt(1500, true)
	b, ok := AppendTooBig(nil, p4, 1400, netip.Addr{})
	if !ok || len(b) != 576 {
		t.Fatalf("IPv4: ok %v, length %d; want 576", ok, len(b))
	}
	if fold(sum(0, b[:20])) != 0xffff || fold(sum(0, b[20:])) != 0xffff {
		t.Error("IPv4: bad checksum")
	}
	h, err := ipv4.ParseHeader(b)
	if err != nil || h.Src.String() != "10.0.0.2" || h.Dst.String() != "10.0.0.1" || h.TotalLen != 576 {
		t.Errorf("IPv4 header %v, %v", h, err)
	}
	m, err := icmp.ParseMessage(1, b[20:])
	if err != nil || m.Type != ipv4.ICMPTypeDestinationUnreachable || m.Code != 4 {
		t.Errorf("ICMP %+v, %v", m, err)
	}
	if mtu := binary.BigEndian.Uint16(b[26:]); mtu != 1400 {
		t.Errorf("next-hop MTU %d", mtu)
	}

	p6 := v6pkt(1500)
	b, ok = AppendTooBig(nil, p6, 1280, netip.Addr{})
	if !ok || len(b) != 1280 {
		t.Fatalf("IPv6: ok %v, length %d; want 1280", ok, len(b))
	}
	m, err = icmp.ParseMessage(58, b[40:])
	ptb, _ := m.Body.(*icmp.PacketTooBig)
	if err != nil || m.Type != ipv6.ICMPTypePacketTooBig || ptb == nil || ptb.MTU != 1280 || !bytes.Equal(ptb.Data, p6[:1232]) {
		t.Errorf("ICMPv6 %+v, %v", m, err)
	}
	// the checksum as x/net computes it, with the pseudo-header
	src, dst := netip.AddrFrom16([16]byte(b[8:24])), netip.AddrFrom16([16]byte(b[24:40]))
	want, err := (&icmp.Message{Type: ipv6.ICMPTypePacketTooBig, Body: ptb}).Marshal(icmp.IPv6PseudoHeader(src.AsSlice(), dst.AsSlice()))
	if err != nil || !bytes.Equal(want, b[40:]) {
		t.Errorf("ICMPv6 checksum: got %x, x/net %x", b[42:44], want[2:4])
	}
}

func TestTooBigRefused(t *testing.T) {
	noDF := v4pkt(1500, false)
	frag := v4pkt(1500, true)
	frag[7] = 1
	mcast := v4pkt(1500, true)
	mcast[12] = 224
	zero := v4pkt(1500, true)
	copy(zero[12:], []byte{0, 0, 0, 0})
	icmpErr := v4pkt(1500, true)
	icmpErr[9], icmpErr[20] = protoICMP, 3
	icmpEcho := v4pkt(1500, true)
	icmpEcho[9], icmpEcho[20] = protoICMP, 8
	v6err := v6pkt(1500)
	v6err[6], v6err[40] = protoICMPv6, 1
	v6echo := v6pkt(1500)
	v6echo[6], v6echo[40] = protoICMPv6, 128
	v6unspec := v6pkt(1500)
	clear(v6unspec[8:24])
	for _, tc := range []struct {
		name string
		p    []byte
		ok   bool
	}{
		{"v4 without DF", noDF, false},
		{"v4 later fragment", frag, false},
		{"v4 from multicast", mcast, false},
		{"v4 from 0.0.0.0", zero, false},
		{"v4 ICMP error", icmpErr, false},
		{"v4 ICMP echo", icmpEcho, true},
		{"v6 ICMPv6 error", v6err, false},
		{"v6 ICMPv6 echo", v6echo, true},
		{"v6 from ::", v6unspec, false},
		{"not IP", make([]byte, 100), false},
		{"empty", nil, false},
	} {
		b, ok := AppendTooBig(nil, tc.p, 1280, netip.Addr{})
		if ok != tc.ok || !ok && len(b) != 0 {
			t.Errorf("%s: ok %v (%d bytes); want %v", tc.name, ok, len(b), tc.ok)
		}
	}
}

func TestMTU(t *testing.T) {
	for _, tc := range []struct {
		sdu  int
		tap  bool
		want int
	}{{65535, false, 1500}, {65535, true, 1500}, {1400, false, 1400}, {1400, true, 1386}} {
		if got := MTU(tc.sdu, tc.tap); got != tc.want {
			t.Errorf("MTU(%d, %v) = %d; want %d", tc.sdu, tc.tap, got, tc.want)
		}
	}
	if err := CheckMTU(1279, true); err == nil || !strings.Contains(err.Error(), "IPv6 needs an MTU of at least 1280") {
		t.Errorf("CheckMTU(1279, v6) = %v", err)
	}
	if err := CheckMTU(1279, false); err != nil {
		t.Errorf("CheckMTU(1279, v4) = %v", err)
	}
}
