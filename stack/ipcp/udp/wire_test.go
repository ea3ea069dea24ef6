package udp

import (
	"bytes"
	"errors"
	"testing"

	"github.com/o7s/ouroboros/stack/qos"
)

// The golden datagrams below are written by hand from the table in spec
// SYSTEM §7.1, not produced by the encoder.

// goldenReq is a FLOW_REQ whose every field has a distinct value, so a
// swapped or misplaced field shows.
var goldenReq = []byte{
	0x00, 0x00, 0x00, 0x00, // 0: eid = 0 (management)
	0xA1, 0xA2, 0xA3, 0xA4, // 4: s_eid (the requester's eid)
	0x00, 0x00, 0x00, 0x00, // 8: d_eid (unused in a request)
	0x00, 0x00, 0x00, 0x00, // 12: response
	0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, // 16: qos.bandwidth (8 bytes)
	0x11, 0x12, 0x13, 0x14, // 24: qos.delay
	0x21, 0x22, 0x23, 0x24, // 28: qos.loss
	0x31, 0x32, 0x33, 0x34, // 32: qos.ber
	0x41, 0x42, 0x43, 0x44, // 36: qos.max_gap
	0x51, 0x52, 0x53, 0x54, // 40: qos.timeout
	0x01, // 44: code FLOW_REQ = 1
	0x61, // 45: qos.availability
	0x71, // 46: qos.in_order
	// 47: the 16-byte MD5 name hash
	0xC0, 0xC1, 0xC2, 0xC3, 0xC4, 0xC5, 0xC6, 0xC7,
	0xC8, 0xC9, 0xCA, 0xCB, 0xCC, 0xCD, 0xCE, 0xCF,
	'o', 'a', 'p', // 63: the opaque OAP header
}

var goldenReqQoS = qos.Spec{
	Bandwidth: 0x0102030405060708, Delay: 0x11121314, Loss: 0x21222324, BER: 0x31323334,
	MaxGap: 0x41424344, Timeout: 0x51525354, Availability: 0x61, InOrder: 0x71,
}

var goldenHash = []byte{0xC0, 0xC1, 0xC2, 0xC3, 0xC4, 0xC5, 0xC6, 0xC7, 0xC8, 0xC9, 0xCA, 0xCB, 0xCC, 0xCD, 0xCE, 0xCF}

// goldenRawReq is the FLOW_REQ of a flow with the "raw" QoS from eid 7,
// without an OAP header.
var goldenRawReq = []byte{
	0x00, 0x00, 0x00, 0x00, // eid 0
	0x00, 0x00, 0x00, 0x07, // s_eid 7
	0x00, 0x00, 0x00, 0x00, // d_eid
	0x00, 0x00, 0x00, 0x00, // response
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // bandwidth 0
	0xFF, 0xFF, 0xFF, 0xFF, // delay UINT32_MAX
	0x00, 0x00, 0x00, 0x01, // loss 1
	0x00, 0x00, 0x00, 0x01, // ber 1
	0xFF, 0xFF, 0xFF, 0xFF, // max_gap UINT32_MAX
	0x00, 0x01, 0xD4, 0xC0, // timeout 120000 ms
	0x01, // FLOW_REQ
	0x00, // availability 0
	0x00, // in_order 0
	0xC0, 0xC1, 0xC2, 0xC3, 0xC4, 0xC5, 0xC6, 0xC7,
	0xC8, 0xC9, 0xCA, 0xCB, 0xCC, 0xCD, 0xCE, 0xCF,
}

// goldenReply is a refusal from responder eid 9 to requester eid 7: the
// reply's s_eid names the requester's flow, d_eid the responder's.
var goldenReply = []byte{
	0x00, 0x00, 0x00, 0x00, // eid 0
	0x00, 0x00, 0x00, 0x07, // s_eid = the requester's eid
	0x00, 0x00, 0x00, 0x09, // d_eid = the responder's eid
	0xFF, 0xFF, 0xFF, 0xFF, // response -1
	0, 0, 0, 0, 0, 0, 0, 0, // no QoS in a reply
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0x02, // FLOW_REPLY
	0x00, 0x00,
}

func TestGoldenEncode(t *testing.T) {
	for _, tc := range []struct {
		name string
		got  []byte
		want []byte
	}{
		{"request", AppendFlowReq(nil, 0xA1A2A3A4, goldenReqQoS, goldenHash, []byte("oap")), goldenReq},
		{"raw request", AppendFlowReq(nil, 7, qos.Raw, goldenHash, nil), goldenRawReq},
		{"reply", AppendFlowReply(nil, 7, 9, -1, nil), goldenReply},
	} {
		if !bytes.Equal(tc.got, tc.want) {
			t.Errorf("%s:\n got %x\nwant %x", tc.name, tc.got, tc.want)
		}
	}
	if len(goldenReply) != MgmtLen || len(goldenRawReq) != FlowReqLen {
		t.Fatalf("golden lengths %d, %d; want %d, %d", len(goldenReply), len(goldenRawReq), MgmtLen, FlowReqLen)
	}
}

func TestGoldenParse(t *testing.T) {
	m, rest, err := ParseMgmt(goldenReq)
	if err != nil {
		t.Fatal(err)
	}
	want := Mgmt{Code: FlowReq, SEID: 0xA1A2A3A4, QoS: goldenReqQoS}
	if m != want {
		t.Errorf("request = %+v, want %+v", m, want)
	}
	hash, oap, err := ParseFlowReq(rest)
	if err != nil || !bytes.Equal(hash, goldenHash) || string(oap) != "oap" {
		t.Errorf("request payload = %x, %q, %v; want the hash and \"oap\"", hash, oap, err)
	}
	m, rest, err = ParseMgmt(goldenReply)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Mgmt{Code: FlowReply, SEID: 7, DEID: 9, Response: -1}); m != want || len(rest) != 0 {
		t.Errorf("reply = %+v (+%d bytes), want %+v", m, len(rest), want)
	}
}

func TestEID(t *testing.T) {
	b := []byte{0, 0, 0, 0, 'x'}
	PutEID(b, 0x01020304)
	if !bytes.Equal(b[:4], []byte{1, 2, 3, 4}) {
		t.Fatalf("PutEID wrote %x, want 01020304 (big-endian)", b[:4])
	}
	eid, sdu, err := ParseEID(b)
	if err != nil || eid != 0x01020304 || string(sdu) != "x" {
		t.Fatalf("ParseEID = %#x, %q, %v", eid, sdu, err)
	}
	for i := range EIDLen {
		if _, _, err := ParseEID(b[:i]); !errors.Is(err, ErrTruncated) {
			t.Errorf("ParseEID(%d bytes) err = %v, want ErrTruncated", i, err)
		}
	}
}

// TestTruncated cuts every golden datagram at every length.
func TestTruncated(t *testing.T) {
	for _, g := range [][]byte{goldenReq, goldenRawReq, goldenReply} {
		for i := range MgmtLen {
			if _, _, err := ParseMgmt(g[:i]); !errors.Is(err, ErrTruncated) {
				t.Fatalf("ParseMgmt(%d bytes) err = %v, want ErrTruncated", i, err)
			}
		}
	}
	for i := MgmtLen; i < FlowReqLen; i++ {
		_, rest, err := ParseMgmt(goldenReq[:i])
		if err != nil {
			t.Fatalf("ParseMgmt(%d bytes) = %v", i, err)
		}
		if _, _, err := ParseFlowReq(rest); !errors.Is(err, ErrTruncated) {
			t.Fatalf("ParseFlowReq after %d bytes err = %v, want ErrTruncated", i, err)
		}
	}
}

func TestParseRejects(t *testing.T) {
	b := bytes.Clone(goldenReply)
	b[3] = 1
	if _, _, err := ParseMgmt(b); !errors.Is(err, ErrNotMgmt) {
		t.Errorf("eid 1: err = %v, want ErrNotMgmt", err)
	}
	for _, code := range []byte{0, 3, 255} {
		b := bytes.Clone(goldenReply)
		b[offCode] = code
		if _, _, err := ParseMgmt(b); !errors.Is(err, ErrUnknownCode) {
			t.Errorf("code %d: err = %v, want ErrUnknownCode", code, err)
		}
	}
}

func FuzzParseMgmt(f *testing.F) {
	f.Add(goldenReq)                              // a request with every field distinct
	f.Add(goldenRawReq)                           // a realistic raw-QoS request
	f.Add(goldenReply)                            // a refusal
	f.Add([]byte{0, 0, 0, 1, 'd', 'a', 't', 'a'}) // a data datagram
	f.Fuzz(func(t *testing.T, b []byte) {
		if eid, _, err := ParseEID(b); err == nil && eid != MgmtEID {
			if _, _, err := ParseMgmt(b); err == nil {
				t.Fatalf("data datagram with eid %d parsed as management", eid)
			}
		}
		m, rest, err := ParseMgmt(b)
		if err != nil {
			return
		}
		re := m.Append(nil)
		if !bytes.Equal(re, b[:MgmtLen]) {
			t.Fatalf("re-encode = %x, want %x", re, b[:MgmtLen])
		}
		if m.Code == FlowReq {
			hash, oap, err := ParseFlowReq(rest)
			if err != nil {
				return
			}
			if re := AppendFlowReq(nil, m.SEID, m.QoS, hash, oap); !bytes.Equal(re[MgmtLen:], b[MgmtLen:]) {
				t.Fatalf("request payload re-encode = %x, want %x", re[MgmtLen:], b[MgmtLen:])
			}
		}
	})
}
