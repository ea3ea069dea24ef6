package oping

import (
	"bytes"
	"testing"
)

func TestHeaderGolden(t *testing.T) {
	b := make([]byte, 64)
	h, err := ParseHeader(b)
	if err != nil {
		t.Fatal(err)
	}
	h.Put(EchoRequest, 0x01020304, 0x1122334455667788, 999999999)
	want := []byte{
		0, 0, 0, 0, // type, big-endian
		1, 2, 3, 4, // id, big-endian
		0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, // tv_sec, host (little-endian)
		0xff, 0xc9, 0x9a, 0x3b, 0, 0, 0, 0, // tv_nsec 999999999, host
	}
	if !bytes.Equal(b[:HeaderLen], want) {
		t.Fatalf("header\n got % x\nwant % x", b[:HeaderLen], want)
	}
	if !bytes.Equal(b[HeaderLen:], make([]byte, 64-HeaderLen)) {
		t.Fatal("the payload after the header is not zero")
	}
	if h.Type() != EchoRequest || h.ID() != 0x01020304 || h.Sec() != 0x1122334455667788 || h.Nsec() != 999999999 {
		t.Fatalf("decoded type=%d id=%#x sec=%#x nsec=%d", h.Type(), h.ID(), h.Sec(), h.Nsec())
	}
	h.SetType(EchoReply)
	want[3] = 1
	if !bytes.Equal(b[:HeaderLen], want) {
		t.Fatalf("after SetType(reply)\n got % x\nwant % x", b[:HeaderLen], want)
	}
}

func TestParseHeaderShort(t *testing.T) {
	for n := range HeaderLen {
		if _, err := ParseHeader(make([]byte, n)); err == nil {
			t.Errorf("ParseHeader of %d bytes: no error", n)
		}
	}
}

func TestStamp(t *testing.T) {
	sec, nsec := splitStamp(12_345_678_901)
	if sec != 12 || nsec != 345_678_901 {
		t.Fatalf("splitStamp = %d, %d", sec, nsec)
	}
	h := Header(make([]byte, HeaderLen))
	h.Put(EchoRequest, 0, sec, nsec)
	if h.Stamp() != 12_345_678_901 {
		t.Fatalf("Stamp = %d", h.Stamp())
	}
	a, b := monoNow(), monoNow()
	if a <= 0 || b < a {
		t.Fatalf("monoNow went %d then %d", a, b)
	}
}

func FuzzParseHeader(f *testing.F) {
	f.Add(make([]byte, 64))
	f.Add([]byte{0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseHeader(b)
		if (err == nil) != (len(b) >= HeaderLen) {
			t.Fatalf("len %d: err %v", len(b), err)
		}
		if err == nil {
			_ = h.Type() + h.ID()
			_ = h.Stamp()
		}
	})
}
