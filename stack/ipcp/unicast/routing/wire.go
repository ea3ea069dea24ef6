package routing

import (
	"encoding/binary"
	"errors"
)

// LSU layout (struct lsa in link-state.c, packed, every field big-endian),
// sent as one SDU on a management flow (spec SYSTEM §8.8):
//
//	| destination address of the adjacency (64) |
//	| source address of the adjacency (64)      |
//	| sequence number (64)                      |
const (
	offDst   = 0
	offSrc   = 8
	offSeqNo = 16
	// LSULen is the length of an LSU; a management SDU of any other
	// length is not an LSU and is dropped.
	LSULen = 24
)

// Errors of the LSU codec.
var (
	ErrShortLSU = errors.New("routing: LSU shorter than 24 bytes")
	ErrLongLSU  = errors.New("routing: LSU longer than 24 bytes")
)

// LSU announces the adjacency Src → Dst with sequence number SeqNo.
type LSU struct {
	Src   uint64
	Dst   uint64
	SeqNo uint64
}

// Append appends the LSULen-byte encoding of m to b.
func (m LSU) Append(b []byte) []byte {
	b = binary.BigEndian.AppendUint64(b, m.Dst)
	b = binary.BigEndian.AppendUint64(b, m.Src)
	return binary.BigEndian.AppendUint64(b, m.SeqNo)
}

// ParseLSU decodes an LSU. b must be exactly LSULen bytes long, as the
// reference reader drops management SDUs of any other length.
func ParseLSU(b []byte) (LSU, error) {
	if len(b) < LSULen {
		return LSU{}, ErrShortLSU
	}
	if len(b) > LSULen {
		return LSU{}, ErrLongLSU
	}
	return LSU{
		Dst:   binary.BigEndian.Uint64(b[offDst:]),
		Src:   binary.BigEndian.Uint64(b[offSrc:]),
		SeqNo: binary.BigEndian.Uint64(b[offSeqNo:]),
	}, nil
}
