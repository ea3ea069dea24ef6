package frct

import (
	"encoding/binary"
	"hash/crc32"
)

// CRCLen is the length of the CRC32 a flow that asks for no bit errors
// (QoS ber 0) carries at the end of every packet (spec APP §4.14).
const CRCLen = 4

// AppendCRC appends the IEEE 802.3 CRC32 of b, big-endian.
func AppendCRC(b []byte) []byte {
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
}

// CheckCRC verifies and strips the CRC32 at the end of b.
func CheckCRC(b []byte) ([]byte, bool) {
	if len(b) < CRCLen {
		return nil, false
	}
	n := len(b) - CRCLen
	return b[:n], binary.BigEndian.Uint32(b[n:]) == crc32.ChecksumIEEE(b[:n])
}
