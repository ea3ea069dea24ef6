package frct

import (
	"bytes"
	"errors"
	"testing"
)

// The header's layout (spec APP §4.2): flags, a 24-bit window, seqno and
// ackno, big-endian.
func TestPCIGolden(t *testing.T) {
	cases := []struct {
		h    PCI
		wire []byte
	}{
		{PCI{Flags: FlagACK | FlagFC, Window: 0x123456, Seqno: 0xDEADBEEF, Ackno: 0x01020304},
			[]byte{0x0c, 0x12, 0x34, 0x56, 0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04}},
		{PCI{Flags: FlagData | FlagDRF, Seqno: 7},
			[]byte{0x03, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0}},
		{PCI{Flags: FlagRDVS},
			[]byte{0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
		{PCI{Flags: FlagFC, Window: 0xFFFFFF},
			[]byte{0x08, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0}},
	}
	for _, tc := range cases {
		b := make([]byte, PCILen)
		tc.h.Put(b)
		if !bytes.Equal(b, tc.wire) {
			t.Errorf("%+v: % x, want % x", tc.h, b, tc.wire)
		}
		h, err := Parse(tc.wire)
		if err != nil || h != tc.h {
			t.Errorf("Parse(% x) = %+v, %v; want %+v", tc.wire, h, err, tc.h)
		}
	}
	// A window wider than 24 bits keeps its low 24 bits and leaves the flags.
	b := make([]byte, PCILen)
	PCI{Flags: FlagFC, Window: 0xAB123456}.Put(b)
	if b[0] != FlagFC || b[1] != 0x12 {
		t.Errorf("window 0xAB123456 wrote % x", b[:4])
	}
}

func TestParseShort(t *testing.T) {
	for n := range PCILen {
		if _, err := Parse(make([]byte, n)); !errors.Is(err, ErrShort) {
			t.Errorf("%d bytes: %v, want ErrShort", n, err)
		}
	}
}

func TestCRC(t *testing.T) {
	// CRC32 of "123456789" is 0xCBF43926 (the check value of CRC-32/ISO-HDLC).
	b := AppendCRC([]byte("123456789"))
	if !bytes.Equal(b[9:], []byte{0xcb, 0xf4, 0x39, 0x26}) {
		t.Fatalf("crc % x", b[9:])
	}
	if p, ok := CheckCRC(b); !ok || string(p) != "123456789" {
		t.Fatal("CheckCRC refused its own")
	}
	b[3] ^= 0x10
	if _, ok := CheckCRC(b); ok {
		t.Fatal("a flipped bit passed")
	}
	if _, ok := CheckCRC([]byte{1, 2}); ok {
		t.Fatal("a packet shorter than the CRC passed")
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte{0x0c, 0x12, 0x34, 0x56, 0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04})
	f.Add([]byte{0x03})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := Parse(b)
		if err != nil {
			if len(b) >= PCILen {
				t.Fatalf("%d bytes refused: %v", len(b), err)
			}
			return
		}
		out := make([]byte, PCILen)
		h.Put(out)
		if !bytes.Equal(out, b[:PCILen]) {
			t.Fatalf("re-encoded % x, was % x", out, b[:PCILen])
		}
	})
}

// FuzzReceive feeds a Conn with arbitrary PDUs: it never panics, never
// delivers more SDUs than data PDUs it took, and stays usable.
func FuzzReceive(f *testing.F) {
	f.Add([]byte{0x03, 0, 1, 0, 0, 0, 0, 5, 0, 0, 0, 0, 'h', 'i'}, true)
	f.Add([]byte{0x1d, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x80, 0, 0, 0}, false)
	f.Fuzz(func(t *testing.T, b []byte, reliable bool) {
		c := New(Config{Reliable: reliable, Output: func([]byte) {}, ISN: func() uint32 { return 100 }})
		buf := make([]byte, 64<<10)
		var data uint64
		for i := 0; len(b) > 0 && i < 64; i++ {
			n := min(len(b), PCILen+int(b[0]%32))
			if h, err := Parse(b[:n]); err == nil && h.Flags&FlagData != 0 {
				data++
			}
			c.Receive(b[:n], int64(i)*1e6)
			b = b[n:]
			pdu := make([]byte, PCILen+3)
			c.Send(pdu, int64(i)*1e6)
			c.Tick(int64(i) * 1e6)
		}
		var got uint64
		for {
			if _, ok := c.Next(buf, 1e9); !ok {
				break
			}
			got++
		}
		if got > data {
			t.Fatalf("delivered %d SDUs from %d data PDUs", got, data)
		}
	})
}
