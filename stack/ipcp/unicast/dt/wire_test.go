package dt

import (
	"bytes"
	"errors"
	"testing"

	"github.com/o7s/ouroboros/stack/qos"
)

// goldenPCI is a PCI written by hand from the layout of spec SYSTEM §8.3
// and dt.c dt_pci_ser (memcpy of host-order integers, little-endian).
var goldenPCI = []byte{
	0x0d, 0x0c, 0x0b, 0x0a, // dst address 0x0a0b0c0d, LE (ADDR_FMT32 "0d.0c.0b.0a")
	0x02,                                           // QoS cube: voice
	0x3c,                                           // TTL: 60, the default max_ttl
	0x05,                                           // ECN: marks 0x01 | 0x04
	0x41, 0x00, 0x00, 0x00, 0xef, 0xbe, 0xad, 0xde, // eid 0xdeadbeef_00000041, LE
}

// goldenFAPCI is the PCI of a flow allocator message: the FA is eid 0 and
// its messages go on cube BE with no marking yet.
var goldenFAPCI = []byte{
	0x78, 0x56, 0x34, 0x12, // dst address 0x12345678, LE
	0x00,                   // QoS cube: best effort
	0x3c,                   // TTL: 60
	0x00,                   // ECN: none
	0, 0, 0, 0, 0, 0, 0, 0, // eid 0: the flow allocator
}

type pci struct {
	dst      uint32
	qc       qos.Cube
	ttl, ecn uint8
	eid      uint64
}

func fields(h Header) pci {
	return pci{h.Dst(), h.Cube(), h.TTL(), h.ECN(), h.EID()}
}

var goldens = []struct {
	name string
	wire []byte
	pci  pci
}{
	{"voice", goldenPCI, pci{0x0a0b0c0d, qos.CubeVoice, 60, 0x05, 0xdeadbeef_00000041}},
	{"fa", goldenFAPCI, pci{0x12345678, qos.CubeBE, DefaultMaxTTL, 0, FAEID}},
}

func TestHeaderLen(t *testing.T) {
	// addr_size + cube + TTL + ECN + eid_size (spec SYSTEM §8.3).
	if HeaderLen != 15 || offQC != 4 || offTTL != 5 || offECN != 6 || offEID != 7 {
		t.Fatalf("HeaderLen %d, offsets qc %d ttl %d ecn %d eid %d; want 15, 4 5 6 7",
			HeaderLen, offQC, offTTL, offECN, offEID)
	}
}

func TestGoldenPut(t *testing.T) {
	for _, g := range goldens {
		t.Run(g.name, func(t *testing.T) {
			h := make(Header, HeaderLen)
			h.Put(g.pci.dst, g.pci.qc, g.pci.ttl, g.pci.ecn, g.pci.eid)
			if !bytes.Equal(h, g.wire) {
				t.Fatalf("Put = % x\nwant  % x", []byte(h), g.wire)
			}
		})
	}
}

func TestGoldenParse(t *testing.T) {
	for _, g := range goldens {
		t.Run(g.name, func(t *testing.T) {
			pkt := append(append([]byte(nil), g.wire...), "sdu"...)
			h, sdu, err := ParseHeader(pkt)
			if err != nil {
				t.Fatal(err)
			}
			if got := fields(h); got != g.pci {
				t.Fatalf("fields = %+v, want %+v", got, g.pci)
			}
			if string(sdu) != "sdu" {
				t.Fatalf("sdu = %q, want %q", sdu, "sdu")
			}
		})
	}
}

func TestParseHeaderOnly(t *testing.T) {
	h, sdu, err := ParseHeader(goldenPCI)
	if err != nil || len(h) != HeaderLen || len(sdu) != 0 {
		t.Fatalf("ParseHeader(PCI only) = %d-byte view, %d-byte sdu, %v", len(h), len(sdu), err)
	}
}

func TestParseHeaderTruncated(t *testing.T) {
	for i := range HeaderLen {
		if _, _, err := ParseHeader(goldenPCI[:i]); !errors.Is(err, ErrTruncated) {
			t.Fatalf("ParseHeader(pci[:%d]) err = %v, want ErrTruncated", i, err)
		}
	}
}

func TestInPlace(t *testing.T) {
	pkt := append([]byte(nil), goldenPCI...)
	h, _, err := ParseHeader(pkt)
	if err != nil {
		t.Fatal(err)
	}
	if ttl := h.DecTTL(); ttl != 59 || pkt[offTTL] != 59 {
		t.Fatalf("DecTTL = %d, byte %d; want 59", ttl, pkt[offTTL])
	}
	h.OrECN(0x12)
	if pkt[offECN] != 0x17 {
		t.Fatalf("ECN after OrECN(0x12) = %#x, want 0x17", pkt[offECN])
	}
	pkt[offTTL] = 0
	if ttl := h.DecTTL(); ttl != 255 { // wraps, as dt_pci_des does
		t.Fatalf("DecTTL from 0 = %d, want 255", ttl)
	}
}

func TestPutParseDoesNotAllocate(t *testing.T) {
	buf := make([]byte, 64)
	var sink uint64
	n := testing.AllocsPerRun(1000, func() {
		Header(buf[:HeaderLen]).Put(0x0a0b0c0d, qos.CubeVideo, DefaultMaxTTL, 0, 0x1_00000040)
		h, sdu, err := ParseHeader(buf)
		if err != nil {
			panic(err)
		}
		h.DecTTL()
		h.OrECN(1)
		sink += uint64(h.Dst()) + uint64(h.Cube()) + uint64(h.TTL()) + uint64(h.ECN()) + h.EID() + uint64(len(sdu))
	})
	if n != 0 {
		t.Fatalf("allocs per run = %v, want 0", n)
	}
	_ = sink
}

func BenchmarkPutParse(b *testing.B) {
	buf := make([]byte, 1500)
	b.ReportAllocs()
	for b.Loop() {
		Header(buf).Put(0x0a0b0c0d, qos.CubeBE, DefaultMaxTTL, 0, 0x1_00000040)
		h, _, _ := ParseHeader(buf)
		h.DecTTL()
	}
}

func FuzzParseHeader(f *testing.F) {
	for _, g := range goldens {
		f.Add(g.wire)
		f.Add(append(append([]byte(nil), g.wire...), "payload"...))
	}
	f.Add(goldenPCI[:HeaderLen-1]) // one byte short
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, sdu, err := ParseHeader(b)
		if err != nil {
			if len(b) >= HeaderLen {
				t.Fatalf("ParseHeader(%d bytes) = %v", len(b), err)
			}
			return
		}
		if len(h)+len(sdu) != len(b) {
			t.Fatalf("view %d + sdu %d != %d", len(h), len(sdu), len(b))
		}
		re := make(Header, HeaderLen)
		re.Put(h.Dst(), h.Cube(), h.TTL(), h.ECN(), h.EID())
		if !bytes.Equal(re, b[:HeaderLen]) {
			t.Fatalf("re-encode = % x, want % x", []byte(re), b[:HeaderLen])
		}
	})
}
