package netns

import (
	"encoding/binary"
	"io"
	"time"
)

// Pcap constants: the classic libpcap file format, microsecond timestamps.
const (
	pcapMagic        = 0xa1b2c3d4
	PcapSnapLen      = 262144 // the largest frame a record holds whole
	LinkTypeEthernet = 1
)

// PcapWriter writes a libpcap file (little-endian, microsecond
// timestamps, LINKTYPE_ETHERNET): a 24-byte global header, then one
// 16-byte record header and the frame's bytes per frame.
type PcapWriter struct {
	w   io.Writer
	buf [16]byte
}

// NewPcapWriter writes the global header to w.
func NewPcapWriter(w io.Writer) (*PcapWriter, error) {
	var h [24]byte
	le := binary.LittleEndian
	le.PutUint32(h[0:], pcapMagic)
	le.PutUint16(h[4:], 2) // version 2.4
	le.PutUint16(h[6:], 4)
	le.PutUint32(h[8:], 0)  // thiszone: UTC
	le.PutUint32(h[12:], 0) // sigfigs
	le.PutUint32(h[16:], PcapSnapLen)
	le.PutUint32(h[20:], LinkTypeEthernet)
	if _, err := w.Write(h[:]); err != nil {
		return nil, err
	}
	return &PcapWriter{w: w}, nil
}

// WriteFrame writes one record: frame as captured (at most PcapSnapLen
// bytes of it are kept), origLen its length on the wire.
func (p *PcapWriter) WriteFrame(ts time.Time, frame []byte, origLen int) error {
	if len(frame) > PcapSnapLen {
		frame = frame[:PcapSnapLen]
	}
	if origLen < len(frame) {
		origLen = len(frame)
	}
	le := binary.LittleEndian
	us := ts.UnixMicro()
	le.PutUint32(p.buf[0:], uint32(us/1e6))
	le.PutUint32(p.buf[4:], uint32(us%1e6))
	le.PutUint32(p.buf[8:], uint32(len(frame)))
	le.PutUint32(p.buf[12:], uint32(origLen))
	if _, err := p.w.Write(p.buf[:]); err != nil {
		return err
	}
	_, err := p.w.Write(frame)
	return err
}
