package ocbr

import (
	"bytes"
	"testing"
)

func TestSeqnoGolden(t *testing.T) {
	b := make([]byte, 16)
	PutSeqno(b, 0x0102030405060708)
	// Host order, little-endian, as the reference's memcpy of a long on
	// amd64 and arm64; the rest of the packet is untouched.
	if want := []byte{8, 7, 6, 5, 4, 3, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0}; !bytes.Equal(b, want) {
		t.Fatalf("PutSeqno = % x, want % x", b, want)
	}
	if n, ok := Seqno(b); !ok || n != 0x0102030405060708 {
		t.Fatalf("Seqno = %#x, %v", n, ok)
	}
	PutSeqno(b, -2)
	if want := []byte{0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}; !bytes.Equal(b[:8], want) {
		t.Fatalf("PutSeqno(-2) = % x, want % x", b[:8], want)
	}
	if n, ok := Seqno(b); !ok || n != -2 {
		t.Fatalf("Seqno = %d, %v", n, ok)
	}
}

func TestSeqnoShortPacket(t *testing.T) {
	b := make([]byte, 3)
	PutSeqno(b, 0x0102030405060708) // as much as fits
	if want := []byte{8, 7, 6}; !bytes.Equal(b, want) {
		t.Fatalf("PutSeqno = % x, want % x", b, want)
	}
	if n, ok := Seqno(b); ok {
		t.Fatalf("Seqno of 3 bytes = %d, true", n)
	}
	PutSeqno(nil, 1) // nothing to stamp, no panic
}
