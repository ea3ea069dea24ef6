package operf

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Test is the type of test, as the configuration message carries it.
type Test uint32

const (
	Uni Test = 0 // the server counts
	Bi  Test = 1 // the server echoes
)

func (t Test) String() string {
	switch t {
	case Uni:
		return "uni"
	case Bi:
		return "bi"
	}
	return fmt.Sprintf("test(%d)", uint32(t))
}

// Wire layout: the configuration message is ConfigLen bytes, the test type
// in host order; a data packet starts with its id in host order.
const (
	ConfigLen = 4
	IDLen     = 4
)

var errConfig = errors.New("operf: configuration message is not 4 bytes of test type 0 or 1")

// AppendConfig appends the configuration message for t.
func AppendConfig(b []byte, t Test) []byte { return binary.LittleEndian.AppendUint32(b, uint32(t)) }

// ParseConfig reads a configuration message, which must be exactly
// ConfigLen bytes of a known test type.
func ParseConfig(b []byte) (Test, error) {
	if len(b) != ConfigLen {
		return 0, errConfig
	}
	t := Test(binary.LittleEndian.Uint32(b))
	if t != Uni && t != Bi {
		return 0, errConfig
	}
	return t, nil
}

// PutID writes a data packet's id; b holds at least IDLen bytes.
func PutID(b []byte, id uint32) { binary.LittleEndian.PutUint32(b, id) }

// ID reads a data packet's id, 0 for a packet too short to carry one.
func ID(b []byte) uint32 {
	if len(b) < IDLen {
		return 0
	}
	return binary.LittleEndian.Uint32(b)
}
