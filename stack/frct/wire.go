package frct

import (
	"encoding/binary"
	"fmt"
)

// PCILen is the length of the FRCT header.
const PCILen = 12

// PCI flags (spec APP §4.2).
const (
	FlagData uint8 = 0x01 // the PDU carries an SDU
	FlagDRF  uint8 = 0x02 // data run flag: the first PDU of a run
	FlagACK  uint8 = 0x04 // Ackno is valid
	FlagFC   uint8 = 0x08 // Window is valid
	FlagRDVS uint8 = 0x10 // rendezvous: the sender's window is closed
	FlagFFGM uint8 = 0x20 // first fragment (reserved)
	FlagMFGM uint8 = 0x40 // more fragments (reserved)
)

const (
	offFlags  = 0
	offWindow = 1
	offSeqno  = 4
	offAckno  = 8
	windowMax = 0xFFFFFF
)

// PCI is the FRCT header: flags, the receiver's right window edge (low 24
// bits), the sequence number and the cumulative acknowledgement.
type PCI struct {
	Flags  uint8
	Window uint32 // 24 bits on the wire
	Seqno  uint32
	Ackno  uint32
}

// Put writes the header into b[:PCILen]; b must be long enough.
func (h PCI) Put(b []byte) {
	_ = b[PCILen-1]
	binary.BigEndian.PutUint32(b[offFlags:], uint32(h.Flags)<<24|h.Window&windowMax)
	binary.BigEndian.PutUint32(b[offSeqno:], h.Seqno)
	binary.BigEndian.PutUint32(b[offAckno:], h.Ackno)
}

// Parse reads the header at the front of a PDU.
func Parse(b []byte) (PCI, error) {
	if len(b) < PCILen {
		return PCI{}, fmt.Errorf("%w: %d bytes, the header alone is %d", ErrShort, len(b), PCILen)
	}
	w := binary.BigEndian.Uint32(b[offFlags:])
	return PCI{
		Flags:  uint8(w >> 24),
		Window: w & windowMax,
		Seqno:  binary.BigEndian.Uint32(b[offSeqno:]),
		Ackno:  binary.BigEndian.Uint32(b[offAckno:]),
	}, nil
}

// before and after compare sequence numbers modulo 2^32.
func before(a, b uint32) bool { return int32(a-b) < 0 }
func after(a, b uint32) bool  { return int32(a-b) > 0 }
