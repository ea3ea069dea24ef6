// Package qos holds QoS specifications (spec APP §3): what a flow asks of
// the network, and the QoS cube an IPCP schedules it in.
package qos

import (
	"fmt"
	"math"
)

// DefaultPeerTimeout is the keepalive peer timeout of the predefined specs, ms.
const DefaultPeerTimeout = 120000

// Spec is a flow's QoS request.
type Spec struct {
	Delay        uint32 // maximum delay, ms
	Bandwidth    uint64 // bit/s
	Availability uint8  // "class of nines"
	Loss         uint32 // allowed packet loss; 0 means reliable (needs FRCT)
	BER          uint32 // bit errors per 10^9 bits; 0 means CRC-protected
	InOrder      uint8  // 1 means in-order delivery (needs FRCT)
	MaxGap       uint32 // ms
	Timeout      uint32 // peer timeout, ms; 0 means none
}

// The predefined specs, as the reference defines them.
var (
	Raw         = Spec{Delay: math.MaxUint32, Loss: 1, BER: 1, MaxGap: math.MaxUint32, Timeout: DefaultPeerTimeout}
	RawNoErrors = Spec{Delay: math.MaxUint32, Loss: 1, BER: 0, MaxGap: math.MaxUint32, Timeout: DefaultPeerTimeout}
	BestEffort  = Spec{Delay: math.MaxUint32, Loss: 1, BER: 0, InOrder: 1, MaxGap: math.MaxUint32, Timeout: DefaultPeerTimeout}
	Video       = Spec{Delay: 100, Bandwidth: math.MaxUint64, Availability: 3, Loss: 1, InOrder: 1, MaxGap: 100, Timeout: DefaultPeerTimeout}
	Voice       = Spec{Delay: 50, Bandwidth: 100000, Availability: 5, Loss: 1, InOrder: 1, MaxGap: 50, Timeout: DefaultPeerTimeout}
	Data        = Spec{Delay: 1000, Loss: 0, BER: 0, InOrder: 1, MaxGap: 2000, Timeout: DefaultPeerTimeout}
	// RawVideo and RawVoice are ours: the video and voice bounds without
	// in-order delivery, so a flow with them needs no FRCT. They map to the
	// video and voice cubes, in the reference as here; irm ipcp connect
	// uses them to put a data-transfer flow in those cubes.
	RawVideo = Spec{Delay: 100, Bandwidth: math.MaxUint64, Availability: 3, Loss: 1, BER: 1, MaxGap: 100, Timeout: DefaultPeerTimeout}
	RawVoice = Spec{Delay: 50, Bandwidth: 100000, Availability: 5, Loss: 1, BER: 1, MaxGap: 50, Timeout: DefaultPeerTimeout}
	// NP1 is what IPCPs and broadcast joins use internally.
	NP1 = Spec{Delay: math.MaxUint32, Loss: math.MaxUint32, BER: math.MaxUint32, MaxGap: math.MaxUint32}
)

// ByName returns the predefined spec the tools call name (raw, best, video,
// voice, data, and ours: raw-video, raw-voice).
func ByName(name string) (Spec, bool) {
	switch name {
	case "raw":
		return Raw, true
	case "best":
		return BestEffort, true
	case "video":
		return Video, true
	case "voice":
		return Voice, true
	case "data":
		return Data, true
	case "raw-video":
		return RawVideo, true
	case "raw-voice":
		return RawVoice, true
	}
	return Spec{}, false
}

// NeedsFRCT tells whether the spec asks for the end-to-end protocol: in-order
// delivery or no loss.
func (s Spec) NeedsFRCT() bool { return s.InOrder != 0 || s.Loss == 0 }

// Cube is the scheduling class an IPCP puts a flow in.
type Cube uint8

const (
	CubeBE Cube = iota
	CubeVideo
	CubeVoice
)

func (c Cube) String() string {
	switch c {
	case CubeBE:
		return "best-effort"
	case CubeVideo:
		return "video"
	case CubeVoice:
		return "voice"
	}
	return fmt.Sprintf("cube(%d)", uint8(c))
}

// Cube maps the spec to its cube; the first match wins (spec APP §3.3).
func (s Spec) Cube() Cube {
	switch {
	case s.Delay <= 50 && s.Bandwidth <= 100000 && s.Availability >= 5 && s.MaxGap <= 50:
		return CubeVoice
	case s.Delay <= 100 && s.Availability >= 3 && s.MaxGap <= 100:
		return CubeVideo
	}
	return CubeBE
}

func (s Spec) String() string {
	return fmt.Sprintf("delay=%d bw=%d avail=%d loss=%d ber=%d in_order=%d max_gap=%d timeout=%d",
		s.Delay, s.Bandwidth, s.Availability, s.Loss, s.BER, s.InOrder, s.MaxGap, s.Timeout)
}
