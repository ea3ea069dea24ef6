package netns

import (
	"bytes"
	"testing"
	"time"
)

func TestPcapWriterGolden(t *testing.T) {
	var b bytes.Buffer
	p, err := NewPcapWriter(&b)
	if err != nil {
		t.Fatal(err)
	}
	frame := []byte{
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // dst
		0x02, 0x00, 0x00, 0x00, 0x00, 0x01, // src
		0xa0, 0x00, // ethertype 0xA000
		0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0xab, 0xcd,
	}
	ts := time.Unix(1700000000, 123456789) // microseconds: 123456
	if err := p.WriteFrame(ts, frame, len(frame)); err != nil {
		t.Fatal(err)
	}
	want := []byte{
		// global header
		0xd4, 0xc3, 0xb2, 0xa1, // magic, little-endian
		0x02, 0x00, 0x04, 0x00, // version 2.4
		0x00, 0x00, 0x00, 0x00, // thiszone
		0x00, 0x00, 0x00, 0x00, // sigfigs
		0x00, 0x00, 0x04, 0x00, // snaplen 262144
		0x01, 0x00, 0x00, 0x00, // LINKTYPE_ETHERNET
		// record header
		0x00, 0xf1, 0x53, 0x65, // ts_sec 1700000000
		0x40, 0xe2, 0x01, 0x00, // ts_usec 123456
		0x16, 0x00, 0x00, 0x00, // incl_len 22
		0x16, 0x00, 0x00, 0x00, // orig_len 22
	}
	want = append(want, frame...)
	if !bytes.Equal(b.Bytes(), want) {
		t.Fatalf("pcap bytes:\n got %x\nwant %x", b.Bytes(), want)
	}
}

func TestPcapWriterTruncates(t *testing.T) {
	var b bytes.Buffer
	p, _ := NewPcapWriter(&b)
	big := make([]byte, PcapSnapLen+10)
	if err := p.WriteFrame(time.Unix(0, 0), big, len(big)); err != nil {
		t.Fatal(err)
	}
	if got := b.Len(); got != 24+16+PcapSnapLen {
		t.Fatalf("file is %d bytes, want %d", got, 24+16+PcapSnapLen)
	}
	rec := b.Bytes()[24:]
	if incl, orig := le32(rec[8:]), le32(rec[12:]); incl != PcapSnapLen || orig != PcapSnapLen+10 {
		t.Fatalf("incl %d orig %d", incl, orig)
	}
}

func le32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}
