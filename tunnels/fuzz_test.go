package tunnels

import (
	"context"
	"net/netip"
	"testing"
)

func addSeeds(f *testing.F) {
	f.Add(v4pkt(60, true))
	f.Add(v4pkt(60, false))
	f.Add(v6pkt(80))
	f.Add(v4pkt(60, true)[:19])
	f.Add(v6pkt(80)[:39])
	f.Add(unhex("ffffffffffff 020000000001 0806 0001 0800 0604 0001"))
	f.Add(unhex("4f00ffff"))
	f.Add([]byte{})
}

// FuzzCheckIP: the parser never reads past the packet, and an ICMP error
// for anything it passes is well formed.
func FuzzCheckIP(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, p []byte) {
		n, d := CheckIP(p)
		if d != DropNone {
			return
		}
		if n > len(p) || n < IPv4HeaderLen {
			t.Fatalf("CheckIP = %d for %d bytes", n, len(p))
		}
		p = p[:n]
		ipSrc(p)
		ipDst(p)
		b, ok := AppendTooBig(nil, p, 1280, netip.Addr{})
		if !ok {
			return
		}
		if m, d := CheckIP(b); d != DropNone || m != len(b) {
			t.Fatalf("the ICMP error does not check: %d, %v", m, d)
		}
		hl := IPv4HeaderLen
		if b[0]>>4 == 6 {
			hl = IPv6HeaderLen
		} else if fold(sum(0, b[:hl])) != 0xffff {
			t.Fatal("bad IPv4 header checksum")
		}
		if len(b) > maxICMPv6 {
			t.Fatalf("ICMP error of %d bytes", len(b))
		}
	})
}

// FuzzTunnel puts anything through both directions of a tun and a tap
// tunnel: nothing panics, and what reaches the device from the flow in tun
// mode is IP.
func FuzzTunnel(f *testing.F) {
	addSeeds(f)
	f.Add(append(v4pkt(1300, true), make([]byte, 200)...))
	tuns := map[bool]*Tunnel{}
	devs := map[bool]*memDevice{}
	for _, tap := range []bool{false, true} {
		devs[tap] = newMemDevice(1)
		tuns[tap] = New(devs[tap], tap, netip.Addr{}, netip.Addr{})
		go tuns[tap].Serve(context.Background(), newMemFlow(1300))
	}
	f.Cleanup(func() { tuns[false].Close(); tuns[true].Close() })
	f.Fuzz(func(t *testing.T, p []byte) {
		for _, tap := range []bool{false, true} {
			tn := tuns[tap]
			for tn.Sessions() == 0 {
			}
			s := tn.tab.Load().list[0]
			tn.fromDevice(p)
			buf := make([]byte, Offset+len(p))
			copy(buf[Offset:], p)
			out := tn.fromFlow(s, buf, len(p), nil)
			if len(out) == 1 && !tap {
				if _, d := CheckIP(out[0][Offset:]); d != DropNone {
					t.Fatalf("passed to the device: %x (%v)", out[0][Offset:], d)
				}
			}
		}
	})
}
