package fa

import (
	"bytes"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/o7s/ouroboros/stack/qos"
)

// The golden messages are written by hand from struct fa_msg in the
// reference's src/ipcpd/unicast/fa.c (spec SYSTEM §8.6): packed, every
// multi-byte field big-endian, unused fields zero.

// goldenHashLen is a CRC32-sized hash, to keep the FLOW_REQ short.
const goldenHashLen = 4

// goldenReq is a FLOW_REQ for the voice QoS, as fa_alloc sends it.
var goldenReq = []byte{
	0x00, 0x00, 0x00, 0x00, 0x0a, 0x0b, 0x0c, 0x0d, // s_addr: 0x0a0b0c0d
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // r_eid: unused
	0xde, 0xad, 0xbe, 0xef, 0x00, 0x00, 0x00, 0x41, // s_eid: rnd 0xdeadbeef, fd 65
	0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x86, 0xa0, // bandwidth: 100000 bit/s
	0x00, 0x00, 0x00, 0x00, // response: unused
	0x00, 0x00, 0x00, 0x32, // delay: 50 ms
	0x00, 0x00, 0x00, 0x01, // loss: 1
	0x00, 0x00, 0x00, 0x00, // ber: 0
	0x00, 0x00, 0x00, 0x32, // max_gap: 50 ms
	0x00, 0x01, 0xd4, 0xc0, // timeout: 120000 ms
	0x00, 0x00, // ece: unused
	0x00,                   // code: FLOW_REQ
	0x05,                   // availability: 5
	0x01,                   // in_order: 1
	0xca, 0xfe, 0xba, 0xbe, // hash of the destination name
	'o', 'a', 'p', // OAP header (opaque here)
}

// goldenReply is a FLOW_REPLY refusing the flow (response -13), as
// fa_alloc_resp sends it.
var goldenReply = []byte{
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // s_addr: unused
	0xde, 0xad, 0xbe, 0xef, 0x00, 0x00, 0x00, 0x41, // r_eid: the requester's eid
	0x01, 0x23, 0x45, 0x67, 0x00, 0x00, 0x00, 0x42, // s_eid: the responder's eid
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // bandwidth: unused
	0xff, 0xff, 0xff, 0xf3, // response: -13
	0x00, 0x00, 0x00, 0x00, // delay: unused
	0x00, 0x00, 0x00, 0x00, // loss: unused
	0x00, 0x00, 0x00, 0x00, // ber: unused
	0x00, 0x00, 0x00, 0x00, // max_gap: unused
	0x00, 0x00, 0x00, 0x00, // timeout: unused
	0x00, 0x00, // ece: unused
	0x01,     // code: FLOW_REPLY
	0x00,     // availability: unused
	0x00,     // in_order: unused
	'o', 'k', // OAP header (opaque here)
}

// goldenUpdate is a FLOW_UPDATE with congestion level 0x0102, as
// fa_update_remote sends it.
var goldenUpdate = []byte{
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // s_addr: unused
	0x01, 0x23, 0x45, 0x67, 0x00, 0x00, 0x00, 0x42, // r_eid: the peer's eid
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // s_eid: unused
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // bandwidth: unused
	0x00, 0x00, 0x00, 0x00, // response: unused
	0x00, 0x00, 0x00, 0x00, // delay: unused
	0x00, 0x00, 0x00, 0x00, // loss: unused
	0x00, 0x00, 0x00, 0x00, // ber: unused
	0x00, 0x00, 0x00, 0x00, // max_gap: unused
	0x00, 0x00, 0x00, 0x00, // timeout: unused
	0x01, 0x02, // ece: 0x0102
	0x02, // code: FLOW_UPDATE
	0x00, // availability: unused
	0x00, // in_order: unused
}

type golden struct {
	name       string
	wire       []byte
	encode     func() []byte
	msg        Msg
	hash, data []byte
	min        int // the shortest valid prefix
}

var goldens = []golden{
	{
		name: "req", wire: goldenReq,
		encode: func() []byte {
			return AppendFlowReq(nil, 0x0a0b0c0d, 0xdeadbeef_00000041, qos.Voice, []byte{0xca, 0xfe, 0xba, 0xbe}, []byte("oap"))
		},
		msg:  Msg{Code: FlowReq, SAddr: 0x0a0b0c0d, SEID: 0xdeadbeef_00000041, QoS: qos.Voice},
		hash: []byte{0xca, 0xfe, 0xba, 0xbe}, data: []byte("oap"),
		min: MsgLen + goldenHashLen,
	},
	{
		name: "reply", wire: goldenReply,
		encode: func() []byte {
			return AppendFlowReply(nil, 0xdeadbeef_00000041, 0x01234567_00000042, -13, []byte("ok"))
		},
		msg:  Msg{Code: FlowReply, REID: 0xdeadbeef_00000041, SEID: 0x01234567_00000042, Response: -13},
		data: []byte("ok"),
		min:  MsgLen,
	},
	{
		name: "update", wire: goldenUpdate,
		encode: func() []byte { return AppendFlowUpdate(nil, 0x01234567_00000042, 0x0102) },
		msg:    Msg{Code: FlowUpdate, REID: 0x01234567_00000042, ECE: 0x0102},
		data:   []byte{},
		min:    MsgLen,
	},
}

func TestOffsets(t *testing.T) {
	if len(goldenUpdate) != MsgLen || MsgLen != 61 || offInOrder != MsgLen-1 {
		t.Fatalf("MsgLen %d, golden %d, in_order at %d; want 61", MsgLen, len(goldenUpdate), offInOrder)
	}
}

func TestGoldenEncode(t *testing.T) {
	for _, g := range goldens {
		t.Run(g.name, func(t *testing.T) {
			if got := g.encode(); !bytes.Equal(got, g.wire) {
				t.Fatalf("encode = % x\nwant     % x", got, g.wire)
			}
			if got := append(g.msg.Append([]byte{0xee}), g.hash...); !bytes.Equal(got[1:], g.wire[:g.min]) || got[0] != 0xee {
				t.Fatalf("Msg.Append after a prefix = % x", got)
			}
		})
	}
}

func TestGoldenParse(t *testing.T) {
	for _, g := range goldens {
		t.Run(g.name, func(t *testing.T) {
			m, hash, data, err := Parse(g.wire, goldenHashLen)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(g.msg, m); diff != "" {
				t.Errorf("msg (-want +got):\n%s", diff)
			}
			if !bytes.Equal(hash, g.hash) || (hash == nil) != (g.hash == nil) {
				t.Errorf("hash = % x, want % x", hash, g.hash)
			}
			if !bytes.Equal(data, g.data) {
				t.Errorf("data = % x, want % x", data, g.data)
			}
		})
	}
}

// TestTruncated cuts every golden message at every length: below the
// shortest valid message it must fail with ErrTruncated; from there on
// the cut only shortens the trailing OAP data.
func TestTruncated(t *testing.T) {
	for _, g := range goldens {
		t.Run(g.name, func(t *testing.T) {
			for i := range len(g.wire) + 1 {
				m, hash, data, err := Parse(g.wire[:i], goldenHashLen)
				if i < g.min {
					if !errors.Is(err, ErrTruncated) {
						t.Fatalf("Parse(msg[:%d]) err = %v, want ErrTruncated", i, err)
					}
					continue
				}
				if err != nil || m != g.msg || !bytes.Equal(hash, g.hash) || !bytes.Equal(data, g.wire[g.min:i]) {
					t.Fatalf("Parse(msg[:%d]) = %+v, % x, % x, %v", i, m, hash, data, err)
				}
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	unknown := append([]byte(nil), goldenUpdate...)
	unknown[offCode] = 3
	for _, tc := range []struct {
		name    string
		b       []byte
		hashLen int
		want    error
	}{
		{"unknown code", unknown, goldenHashLen, ErrUnknownCode},
		{"too long", append(append([]byte(nil), goldenReply...), make([]byte, MaxMsgLen-MsgLen+1)...), goldenHashLen, ErrTooLong},
		{"sha3-256 hash missing", goldenReq, 32, ErrTruncated},
		{"negative hash length", goldenReq, -1, ErrTruncated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, _, err := Parse(tc.b, tc.hashLen); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	longest := append(append([]byte(nil), goldenReply...), make([]byte, MaxMsgLen-len(goldenReply))...)
	if _, _, data, err := Parse(longest, goldenHashLen); err != nil || len(data) != MaxMsgLen-MsgLen {
		t.Fatalf("Parse(%d bytes) = %d bytes of data, %v", len(longest), len(data), err)
	}
}

func TestSHA3Hash(t *testing.T) {
	hash := bytes.Repeat([]byte{0xab}, 32) // a SHA3-256 hash, the CLI default
	b := AppendFlowReq(nil, 7, MakeEID(1, 64), qos.BestEffort, hash, nil)
	m, h, data, err := Parse(b, len(hash))
	if err != nil || m.SAddr != 7 || m.SEID != 1<<32|64 || m.QoS != qos.BestEffort || !bytes.Equal(h, hash) || len(data) != 0 {
		t.Fatalf("Parse = %+v, % x, % x, %v", m, h, data, err)
	}
}

func TestEID(t *testing.T) {
	eid := MakeEID(0xdeadbeef, 0x41)
	if eid != 0xdeadbeef_00000041 || EIDSlot(eid) != 0x41 {
		t.Fatalf("MakeEID = %#x, slot %#x", eid, EIDSlot(eid))
	}
}

func TestCodeString(t *testing.T) {
	for c, want := range map[Code]string{FlowReq: "FLOW_REQ", FlowReply: "FLOW_REPLY", FlowUpdate: "FLOW_UPDATE", 9: "code(9)"} {
		if got := c.String(); got != want {
			t.Errorf("Code(%d).String() = %q, want %q", c, got, want)
		}
	}
}

func TestAppendParseDoesNotAllocate(t *testing.T) {
	buf := make([]byte, 0, MaxMsgLen)
	hash := []byte{1, 2, 3, 4}
	n := testing.AllocsPerRun(1000, func() {
		b := AppendFlowReq(buf[:0], 1, 2, qos.Voice, hash, nil)
		if _, _, _, err := Parse(b, len(hash)); err != nil {
			panic(err)
		}
		b = AppendFlowUpdate(buf[:0], 2, 3)
		if _, _, _, err := Parse(b, len(hash)); err != nil {
			panic(err)
		}
	})
	if n != 0 {
		t.Fatalf("allocs per run = %v, want 0", n)
	}
}

func FuzzParse(f *testing.F) {
	for _, g := range goldens {
		f.Add(g.wire, uint8(goldenHashLen))
		f.Add(g.wire, uint8(32))
		f.Add(g.wire[:MsgLen-1], uint8(0))
	}
	f.Add([]byte{}, uint8(0))
	f.Fuzz(func(t *testing.T, b []byte, hashLen uint8) {
		m, hash, data, err := Parse(b, int(hashLen))
		if err != nil {
			return
		}
		if m.Code != FlowReq && hash != nil {
			t.Fatalf("%v returned a hash", m.Code)
		}
		re := m.Append(nil)
		re = append(re, hash...)
		re = append(re, data...)
		if !bytes.Equal(re, b) {
			t.Fatalf("re-encode = % x\nwant        % x", re, b)
		}
	})
}
