package routing

import (
	"bytes"
	"errors"
	"testing"
)

// goldenLSUs are encodings written out by hand from the layout of struct
// lsa: destination, source, sequence number, each 8 bytes big-endian.
var goldenLSUs = []struct {
	name string
	m    LSU
	b    []byte
}{
	{
		// DT_CONN_ADD of neighbour 2 at node 1: LSU(1 → 2, seq 0).
		name: "first announcement",
		m:    LSU{Src: 1, Dst: 2, SeqNo: 0},
		b: []byte{
			0, 0, 0, 0, 0, 0, 0, 2, // dst
			0, 0, 0, 0, 0, 0, 0, 1, // src
			0, 0, 0, 0, 0, 0, 0, 0, // seqno
		},
	},
	{
		// Distinct bytes in every position catch swapped fields and
		// little-endian slips.
		name: "every byte distinct",
		m:    LSU{Src: 0x0102030405060708, Dst: 0x1112131415161718, SeqNo: 0x2122232425262728},
		b: []byte{
			0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, // dst
			0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, // src
			0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, // seqno
		},
	},
	{
		// 32-bit flat addresses in the low half, a refreshed seqno.
		name: "flat addresses",
		m:    LSU{Src: 0xdeadbeef, Dst: 0x0a000001, SeqNo: 4},
		b: []byte{
			0, 0, 0, 0, 0x0a, 0x00, 0x00, 0x01, // dst
			0, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef, // src
			0, 0, 0, 0, 0, 0, 0, 4, // seqno
		},
	},
}

func TestLSUGolden(t *testing.T) {
	for _, tc := range goldenLSUs {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.m.Append(nil); !bytes.Equal(got, tc.b) {
				t.Fatalf("Append = %x, want %x", got, tc.b)
			}
			got, err := ParseLSU(tc.b)
			if err != nil {
				t.Fatalf("ParseLSU: %v", err)
			}
			if got != tc.m {
				t.Fatalf("ParseLSU = %+v, want %+v", got, tc.m)
			}
		})
	}
}

func TestLSUAppendKeepsPrefix(t *testing.T) {
	m := goldenLSUs[1]
	got := m.m.Append([]byte{0xaa})
	if want := append([]byte{0xaa}, m.b...); !bytes.Equal(got, want) {
		t.Fatalf("Append = %x, want %x", got, want)
	}
}

func TestParseLSUTruncated(t *testing.T) {
	b := goldenLSUs[1].b
	for i := range LSULen {
		if _, err := ParseLSU(b[:i]); !errors.Is(err, ErrShortLSU) {
			t.Fatalf("ParseLSU(b[:%d]) err = %v, want ErrShortLSU", i, err)
		}
	}
}

func TestParseLSUTooLong(t *testing.T) {
	b := append(goldenLSUs[1].m.Append(nil), 0)
	if _, err := ParseLSU(b); !errors.Is(err, ErrLongLSU) {
		t.Fatalf("ParseLSU(25 bytes) err = %v, want ErrLongLSU", err)
	}
}

func TestLSUAppendDoesNotAllocate(t *testing.T) {
	buf := make([]byte, 0, LSULen)
	m := goldenLSUs[1].m
	if n := testing.AllocsPerRun(100, func() { buf = m.Append(buf[:0]) }); n != 0 {
		t.Fatalf("allocs per run = %v, want 0", n)
	}
}

func FuzzParseLSU(f *testing.F) {
	for _, g := range goldenLSUs {
		f.Add(g.b)
	}
	f.Add([]byte{})
	f.Add(make([]byte, LSULen+1))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseLSU(b) // must never panic
		if err != nil {
			if len(b) == LSULen {
				t.Fatalf("ParseLSU(%x): %v", b, err)
			}
			return
		}
		if re := m.Append(nil); !bytes.Equal(re, b) {
			t.Fatalf("re-encode = %x, want %x", re, b)
		}
	})
}
