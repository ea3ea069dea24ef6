package eth

import (
	"bytes"
	"errors"
	"math"
	"testing"

	"github.com/o7s/ouroboros/stack/qos"
)

var (
	macA = MAC{0x02, 0, 0, 0, 0, 0x01}
	macB = MAC{0x02, 0, 0, 0, 0, 0x02}
)

// goldenDIX is a DIX data frame written by hand from the table of spec
// SYSTEM §6.1, padded to 60 bytes as on the wire.
var goldenDIX = pad([]byte{
	0x02, 0x00, 0x00, 0x00, 0x00, 0x02, // 0: destination MAC
	0x02, 0x00, 0x00, 0x00, 0x00, 0x01, // 6: source MAC
	0xA0, 0x00, // 12: ethertype 0xA000
	0x00, 0x41, // 14: endpoint id 65 (the receiver's)
	0x00, 0x05, // 16: payload length 5
	'h', 'e', 'l', 'l', 'o', // 18: payload
})

// goldenLLC is an LLC data frame from the table of spec SYSTEM §6.1: DSAP 2
// (0b00000010) is 0x40 reversed, SSAP 3 (0b00000011) is 0xC0.
var goldenLLC = pad([]byte{
	0x02, 0x00, 0x00, 0x00, 0x00, 0x02, // 0: destination MAC
	0x02, 0x00, 0x00, 0x00, 0x00, 0x01, // 6: source MAC
	0x00, 0x08, // 12: length = 3 + 5
	0x40,                    // 14: DSAP 2, bit-reversed
	0xC0,                    // 15: SSAP 3, bit-reversed
	0x03,                    // 16: control UI
	'h', 'e', 'l', 'l', 'o', // 17: payload
})

func pad(b []byte) []byte {
	for len(b) < MinFrame {
		b = append(b, 0)
	}
	return b
}

// mgmtAll has a distinct value in every field, so a misplaced field shows.
var mgmtAll = Mgmt{
	Code: FlowReply, SEID: 0x0102, DEID: 0x0304, SSAP: 0x05, DSAP: 0x06, Response: -2,
	QoS: qos.Spec{Delay: 0x11121314, Bandwidth: 0x2122232425262728, Availability: 0x31, Loss: 0x41424344,
		BER: 0x51525354, InOrder: 0x61, MaxGap: 0x71727374, Timeout: 0x81828384},
}

// goldenMgmtDIX is mgmtAll in the 39-byte DIX layout of spec SYSTEM §6.3.
var goldenMgmtDIX = []byte{
	0x01, 0x02, // 0: seid
	0x03, 0x04, // 2: deid
	0x41, 0x42, 0x43, 0x44, // 4: loss
	0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, // 8: bandwidth
	0x51, 0x52, 0x53, 0x54, // 16: ber
	0x71, 0x72, 0x73, 0x74, // 20: max_gap
	0x11, 0x12, 0x13, 0x14, // 24: delay
	0x81, 0x82, 0x83, 0x84, // 28: timeout
	0xFF, 0xFF, 0xFF, 0xFE, // 32: response -2
	0x61, // 36: in_order
	0x01, // 37: code FLOW_REPLY
	0x31, // 38: availability
}

// goldenMgmtLLC is mgmtAll in the 37-byte LLC layout of spec SYSTEM §6.3.
var goldenMgmtLLC = []byte{
	0x05,                   // 0: ssap (not reversed)
	0x06,                   // 1: dsap
	0x01,                   // 2: code FLOW_REPLY
	0x31,                   // 3: availability
	0x41, 0x42, 0x43, 0x44, // 4: loss
	0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, // 8: bandwidth
	0x51, 0x52, 0x53, 0x54, // 16: ber
	0x71, 0x72, 0x73, 0x74, // 20: max_gap
	0x11, 0x12, 0x13, 0x14, // 24: delay
	0x81, 0x82, 0x83, 0x84, // 28: timeout
	0xFF, 0xFF, 0xFF, 0xFE, // 32: response -2
	0x61, // 36: in_order
}

// goldenFlowReqDIX is a FLOW_REQ for the raw QoS from endpoint 64.
var goldenFlowReqDIX = []byte{
	0x00, 0x40, // seid 64
	0x00, 0x00, // deid unused
	0x00, 0x00, 0x00, 0x01, // loss 1
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // bandwidth 0
	0x00, 0x00, 0x00, 0x01, // ber 1
	0xFF, 0xFF, 0xFF, 0xFF, // max_gap
	0xFF, 0xFF, 0xFF, 0xFF, // delay
	0x00, 0x01, 0xD4, 0xC0, // timeout 120000 ms
	0x00, 0x00, 0x00, 0x00, // response
	0x00, // in_order
	0x00, // code FLOW_REQ
	0x00, // availability
}

func TestReverseBits(t *testing.T) {
	for _, tc := range []struct{ in, want byte }{
		{0x01, 0x80}, {0x02, 0x40}, {0x03, 0xC0}, {0x41, 0x82}, {0x42, 0x42}, {0xF0, 0x0F}, {0x00, 0x00}, {0xFF, 0xFF},
	} {
		if got := ReverseBits(tc.in); got != tc.want {
			t.Errorf("ReverseBits(%#02x) = %#02x, want %#02x", tc.in, got, tc.want)
		}
	}
	for b := range 256 {
		if ReverseBits(ReverseBits(byte(b))) != byte(b) {
			t.Fatalf("ReverseBits is not an involution at %#02x", b)
		}
	}
}

func TestDIXGolden(t *testing.T) {
	b := make([]byte, MinFrame)
	DIXHeader(b).Put(macB, macA, 0xA000, 65, 5)
	copy(b[DIXHeaderLen:], "hello")
	if !bytes.Equal(b, goldenDIX) {
		t.Fatalf("encoded\n%x\nwant\n%x", b, goldenDIX)
	}
	h, payload, err := ParseDIX(goldenDIX)
	if err != nil {
		t.Fatal(err)
	}
	if h.Dst() != macB || h.Src() != macA || h.Ethertype() != 0xA000 || h.EID() != 65 || h.Length() != 5 {
		t.Errorf("parsed dst %v src %v type %#x eid %d len %d", h.Dst(), h.Src(), h.Ethertype(), h.EID(), h.Length())
	}
	if string(payload) != "hello" {
		t.Errorf("payload %q, want hello (padding cut)", payload)
	}
}

func TestLLCGolden(t *testing.T) {
	b := make([]byte, MinFrame)
	LLCHeader(b).Put(macB, macA, 2, 3, 5)
	copy(b[LLCHeaderLen:], "hello")
	if !bytes.Equal(b, goldenLLC) {
		t.Fatalf("encoded\n%x\nwant\n%x", b, goldenLLC)
	}
	h, payload, err := ParseLLC(goldenLLC)
	if err != nil {
		t.Fatal(err)
	}
	if h.Dst() != macB || h.Src() != macA || h.Length() != 8 || h.DSAP() != 2 || h.SSAP() != 3 || h.Control() != 0x03 {
		t.Errorf("parsed dst %v src %v len %d dsap %d ssap %d ctrl %#x", h.Dst(), h.Src(), h.Length(), h.DSAP(), h.SSAP(), h.Control())
	}
	if string(payload) != "hello" {
		t.Errorf("payload %q, want hello (padding cut)", payload)
	}
	// The management SAP 1 is 0x80 on the wire.
	LLCHeader(b).Put(Broadcast, macA, MgmtSAP, MgmtSAP, 0)
	if want := []byte{0x00, 0x03, 0x80, 0x80, 0x03}; !bytes.Equal(b[12:17], want) {
		t.Errorf("management header %x, want %x", b[12:17], want)
	}
}

func TestLLCRefusals(t *testing.T) {
	mk := func(length uint16, ctrl byte) []byte {
		b := bytes.Clone(goldenLLC)
		b[12], b[13], b[16] = byte(length>>8), byte(length), ctrl
		return b
	}
	for _, tc := range []struct {
		name  string
		frame []byte
		want  error
	}{
		{"DIX ethertype 0xA000", mk(0xA000, 0x03), errNotLLC},
		{"length 0x0600", mk(0x0600, 0x03), errNotLLC},
		{"length 2", mk(2, 0x03), errLLC},
		{"control XID", mk(8, 0xAF), errLLC},
		{"length past the frame", mk(0x05FF, 0x03), errLength},
	} {
		if _, _, err := ParseLLC(tc.frame); err != tc.want {
			t.Errorf("%s: err %v, want %v", tc.name, err, tc.want)
		}
	}
	if _, p, err := ParseLLC(mk(3, 0x03)); err != nil || len(p) != 0 {
		t.Errorf("length 3: payload %d bytes, err %v; want empty", len(p), err)
	}
}

func TestMgmtGolden(t *testing.T) {
	if got := mgmtAll.AppendDIX(nil); !bytes.Equal(got, goldenMgmtDIX) {
		t.Errorf("DIX encoding\n%x\nwant\n%x", got, goldenMgmtDIX)
	}
	if got := mgmtAll.AppendLLC(nil); !bytes.Equal(got, goldenMgmtLLC) {
		t.Errorf("LLC encoding\n%x\nwant\n%x", got, goldenMgmtLLC)
	}
	if len(goldenMgmtDIX) != DIXMgmtLen || len(goldenMgmtLLC) != LLCMgmtLen {
		t.Fatalf("golden lengths %d/%d, want %d/%d", len(goldenMgmtDIX), len(goldenMgmtLLC), DIXMgmtLen, LLCMgmtLen)
	}
	wantDIX, wantLLC := mgmtAll, mgmtAll
	wantDIX.SSAP, wantDIX.DSAP = 0, 0
	wantLLC.SEID, wantLLC.DEID = 0, 0
	body := []byte("hash")
	if m, b, err := ParseMgmtDIX(append(bytes.Clone(goldenMgmtDIX), body...)); err != nil || m != wantDIX || !bytes.Equal(b, body) {
		t.Errorf("ParseMgmtDIX = %+v, %q, %v; want %+v", m, b, err, wantDIX)
	}
	if m, b, err := ParseMgmtLLC(append(bytes.Clone(goldenMgmtLLC), body...)); err != nil || m != wantLLC || !bytes.Equal(b, body) {
		t.Errorf("ParseMgmtLLC = %+v, %q, %v; want %+v", m, b, err, wantLLC)
	}
	req := Mgmt{Code: FlowReq, SEID: 64, QoS: qos.Raw}
	if got := req.AppendDIX(nil); !bytes.Equal(got, goldenFlowReqDIX) {
		t.Errorf("FLOW_REQ raw\n%x\nwant\n%x", got, goldenFlowReqDIX)
	}
	if qos.Raw.Delay != math.MaxUint32 || qos.Raw.Timeout != 120000 {
		t.Fatal("qos.Raw changed; update goldenFlowReqDIX")
	}
	for c, s := range map[Code]string{FlowReq: "FLOW_REQ", FlowReply: "FLOW_REPLY", NameQueryReq: "NAME_QUERY_REQ", NameQueryReply: "NAME_QUERY_REPLY"} {
		if c.String() != s {
			t.Errorf("code %d = %v, want %s", c, c, s)
		}
	}
	if FlowReq != 0 || FlowReply != 1 || NameQueryReq != 2 || NameQueryReply != 3 {
		t.Error("management codes differ from the reference's 0..3")
	}
}

func TestTruncated(t *testing.T) {
	dix := goldenDIX[:DIXHeaderLen+5]
	for i := range len(dix) {
		_, _, err := ParseDIX(dix[:i])
		want := errShort
		if i >= DIXHeaderLen {
			want = errLength
		}
		if err != want {
			t.Fatalf("ParseDIX(frame[:%d]) err = %v, want %v", i, err, want)
		}
	}
	llc := goldenLLC[:LLCHeaderLen+5]
	for i := range len(llc) {
		_, _, err := ParseLLC(llc[:i])
		want := errShort
		if i >= LLCHeaderLen {
			want = errLength
		}
		if err != want {
			t.Fatalf("ParseLLC(frame[:%d]) err = %v, want %v", i, err, want)
		}
	}
	for i := range DIXMgmtLen {
		if _, _, err := ParseMgmtDIX(goldenMgmtDIX[:i]); !errors.Is(err, errShortMgmt) {
			t.Fatalf("ParseMgmtDIX(msg[:%d]) err = %v", i, err)
		}
	}
	for i := range LLCMgmtLen {
		if _, _, err := ParseMgmtLLC(goldenMgmtLLC[:i]); !errors.Is(err, errShortMgmt) {
			t.Fatalf("ParseMgmtLLC(msg[:%d]) err = %v", i, err)
		}
	}
}

func TestLayerMTU(t *testing.T) {
	for _, tc := range []struct {
		dev        string
		ifMTU      int
		llc        bool
		mtu, maxPL int
	}{
		{"eth0", 1500, false, 1500, 1496},
		{"eth0", 1500, true, 1500, 1497},
		{"eth0", 9000, false, 9000, 8996},
		{"eth0", 9000, true, 1500, 1497}, // LLC: at most 1500
		{"eth0", 1 << 20, false, 0xFFFF, 0xFFFB},
		{"lo", 65536, false, 9000, 8996}, // lo* capped at 9000
		{"lo0", 65536, true, 1500, 1497},
		{"lo", 1280, false, 1280, 1276},
		{"veth0", 576, true, 576, 573},
	} {
		mtu := LayerMTU(tc.dev, tc.ifMTU, tc.llc)
		if mtu != tc.mtu || MaxPayload(mtu, tc.llc) != tc.maxPL {
			t.Errorf("%s MTU %d llc=%v: layer MTU %d max payload %d, want %d %d",
				tc.dev, tc.ifMTU, tc.llc, mtu, MaxPayload(mtu, tc.llc), tc.mtu, tc.maxPL)
		}
	}
}

func FuzzParseDIX(f *testing.F) {
	f.Add(goldenDIX)                  // data frame, padded
	f.Add(goldenDIX[:DIXHeaderLen+5]) // data frame, unpadded
	f.Add(goldenDIX[:DIXHeaderLen])   // truncated: length says 5
	f.Add(append(bytes.Clone(goldenDIX[:DIXHeaderLen-4]), 0, 0, 0, 39))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, payload, err := ParseDIX(b)
		if err != nil {
			return
		}
		re := make([]byte, DIXHeaderLen)
		DIXHeader(re).Put(h.Dst(), h.Src(), h.Ethertype(), h.EID(), uint16(len(payload)))
		if !bytes.Equal(re, b[:DIXHeaderLen]) || !bytes.Equal(payload, b[DIXHeaderLen:DIXHeaderLen+len(payload)]) {
			t.Fatalf("re-encode %x, want %x", re, b[:DIXHeaderLen])
		}
	})
}

func FuzzParseLLC(f *testing.F) {
	f.Add(goldenLLC)                  // data frame, padded
	f.Add(goldenLLC[:LLCHeaderLen+5]) // unpadded
	f.Add(goldenLLC[:LLCHeaderLen])   // truncated
	f.Add(goldenDIX)                  // a DIX frame
	f.Fuzz(func(t *testing.T, b []byte) {
		h, payload, err := ParseLLC(b)
		if err != nil {
			return
		}
		re := make([]byte, LLCHeaderLen)
		LLCHeader(re).Put(h.Dst(), h.Src(), h.DSAP(), h.SSAP(), len(payload))
		if !bytes.Equal(re, b[:LLCHeaderLen]) || !bytes.Equal(payload, b[LLCHeaderLen:LLCHeaderLen+len(payload)]) {
			t.Fatalf("re-encode %x, want %x", re, b[:LLCHeaderLen])
		}
	})
}

func fuzzMgmt(f *testing.F, llc bool, seeds ...[]byte) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, body, err := ParseMgmt(b, llc)
		if err != nil {
			return
		}
		re := m.Append(nil, llc)
		if !bytes.Equal(re, b[:MgmtLen(llc)]) || !bytes.Equal(body, b[MgmtLen(llc):]) {
			t.Fatalf("re-encode %x, want %x", re, b[:MgmtLen(llc)])
		}
	})
}

func FuzzParseMgmtDIX(f *testing.F) {
	fuzzMgmt(f, false, goldenMgmtDIX, append(bytes.Clone(goldenFlowReqDIX), make([]byte, 32)...), goldenMgmtDIX[:20])
}

func FuzzParseMgmtLLC(f *testing.F) {
	fuzzMgmt(f, true, goldenMgmtLLC, append(bytes.Clone(goldenMgmtLLC), 1, 2, 3), goldenMgmtLLC[:36])
}
