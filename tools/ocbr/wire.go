package ocbr

import "encoding/binary"

// SeqnoLen is the length of a paced packet's sequence number.
const SeqnoLen = 8

// PutSeqno stamps a paced packet with its sequence number: the first
// SeqnoLen bytes of b, or as many as b has. The reference copies a C long
// in host byte order; host order is little-endian on every platform it
// runs on (amd64, arm64), so the number is written little-endian
// explicitly, whatever the platform this runs on.
func PutSeqno(b []byte, seq int64) {
	var n [SeqnoLen]byte
	binary.LittleEndian.PutUint64(n[:], uint64(seq))
	copy(b, n[:])
}

// Seqno reads a paced packet's sequence number (little-endian, see
// PutSeqno); false for a packet too short to carry one.
func Seqno(b []byte) (int64, bool) {
	if len(b) < SeqnoLen {
		return 0, false
	}
	return int64(binary.LittleEndian.Uint64(b)), true
}
