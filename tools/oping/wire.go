package oping

import (
	"encoding/binary"
	"errors"
	"time"
)

// Message layout (spec APP §6.1), the first HeaderLen bytes of every packet:
//
//	| type (32, BE) | id (32, BE) | tv_sec (64, host) | tv_nsec (64, host) |
//
// Host order is little-endian on every platform the reference runs on; the
// timestamps only mean something to the client that wrote them.
const (
	offType   = 0
	offID     = 4
	offSec    = 8
	offNsec   = 16
	HeaderLen = 24
)

// Message types.
const (
	EchoRequest uint32 = 0
	EchoReply   uint32 = 1
)

var errShort = errors.New("oping: message shorter than its 24-byte header")

// Header is a view over the header at the front of a packet.
type Header []byte

// ParseHeader returns the header view of a packet.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderLen {
		return nil, errShort
	}
	return Header(b[:HeaderLen]), nil
}

func (h Header) Type() uint32 { return binary.BigEndian.Uint32(h[offType:]) }
func (h Header) ID() uint32   { return binary.BigEndian.Uint32(h[offID:]) }
func (h Header) Sec() uint64  { return binary.LittleEndian.Uint64(h[offSec:]) }
func (h Header) Nsec() uint64 { return binary.LittleEndian.Uint64(h[offNsec:]) }

// SetType changes only the type, which is all the server does.
func (h Header) SetType(t uint32) { binary.BigEndian.PutUint32(h[offType:], t) }

// Put writes a whole header.
func (h Header) Put(typ, id uint32, sec, nsec uint64) {
	binary.BigEndian.PutUint32(h[offType:], typ)
	binary.BigEndian.PutUint32(h[offID:], id)
	binary.LittleEndian.PutUint64(h[offSec:], sec)
	binary.LittleEndian.PutUint64(h[offNsec:], nsec)
}

// Stamp is the time as the header carries it: nanoseconds of
// CLOCK_MONOTONIC.
func (h Header) Stamp() int64 { return int64(h.Sec())*1e9 + int64(h.Nsec()) }

// monoBase relates Go's monotonic clock, which on Linux is CLOCK_MONOTONIC,
// to CLOCK_MONOTONIC's own origin, read once: monoNow then costs a vDSO
// call and no system call.
var monoBase, monoAt = monoOrigin()

// monoNow returns CLOCK_MONOTONIC in nanoseconds.
func monoNow() int64 { return monoBase + int64(time.Since(monoAt)) }

// splitStamp splits nanoseconds into the timespec the header carries.
func splitStamp(ns int64) (sec, nsec uint64) { return uint64(ns / 1e9), uint64(ns % 1e9) }
