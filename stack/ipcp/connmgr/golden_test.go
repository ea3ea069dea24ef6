package connmgr

import (
	"bytes"
	"errors"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/o7s/ouroboros/stack/ipcp/pb"
)

// The golden cep_msg encodings below are worked out by hand from the proto2
// wire rules: a key is (field number << 3) | wire type (0 varint, 2 length
// delimited), varints are 7-bit groups, least significant first, with the
// high bit set on all but the last byte. protobuf-c (the reference) writes
// fields in ascending field-number order and always writes required fields,
// even when they are zero or empty.
//
// The reference (src/lib/cep.c, send_msg) fills exactly comp_name (1),
// protocol (2), pref_version (3), pref_syntax (5) and address (8); it never
// sets supp_version (4), supp_syntax (6) or syntax_spec (7). The component
// values come from src/ipcpd/unicast/dt.c (dt_init), src/ipcpd/common/
// enroll.c (enroll_init), src/ipcpd/unicast/routing/link-state.c
// (ls_init), src/ipcpd/broadcast/dt.c (dt_init: only comp_name is set, the
// rest of the struct is zeroed) and src/ipcpd/common/connmgr.c (the
// all-zero fail_info answered for an unknown component).

// testAddr is 0x11223344; as a varint: 0x44|0x80, 0x66|0x80, 0x08|0x80,
// 0x09|0x80, 0x01 (0x44 + 0x66<<7 + 0x08<<14 + 0x09<<21 + 1<<28).
const testAddr = 0x11223344

var addrVarint = []byte{0xc4, 0xe6, 0x88, 0x89, 0x01}

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// goldenDT is unicast DT with address 0x11223344.
var goldenDT = cat(
	[]byte{0x0a, 0x0d}, []byte("Data Transfer"), // 1 comp_name, len 13
	[]byte{0x12, 0x03}, []byte("dtp"), // 2 protocol, len 3
	[]byte{0x18, 0x01},       // 3 pref_version 1
	[]byte{0x28, 0x02},       // 5 pref_syntax 2 (FIXED)
	[]byte{0x40}, addrVarint, // 8 address
) // 15 + 5 + 2 + 2 + 6 = 30 bytes

// goldenEnroll is the enrollment component (address always 0).
var goldenEnroll = cat(
	[]byte{0x0a, 0x0a}, []byte("Enrollment"), // 1 comp_name, len 10
	[]byte{0x12, 0x03}, []byte("OEP"), // 2 protocol
	[]byte{0x18, 0x01}, // 3 pref_version 1
	[]byte{0x28, 0x00}, // 5 pref_syntax 0 (GPB)
	[]byte{0x40, 0x00}, // 8 address 0
) // 12 + 5 + 2 + 2 + 2 = 23 bytes

// goldenMgmt is the management (link state) component with address
// 0x11223344.
var goldenMgmt = cat(
	[]byte{0x0a, 0x0a}, []byte("Management"),
	[]byte{0x12, 0x03}, []byte("LSP"),
	[]byte{0x18, 0x01},
	[]byte{0x28, 0x00},
	[]byte{0x40}, addrVarint,
) // 12 + 5 + 2 + 2 + 6 = 27 bytes

// goldenBroadcastDT is the broadcast IPCP's DT: a name and nothing else,
// but the required fields are still on the wire, empty or zero.
var goldenBroadcastDT = cat(
	[]byte{0x0a, 0x0d}, []byte("Data Transfer"),
	[]byte{0x12, 0x00}, // 2 protocol ""
	[]byte{0x18, 0x00}, // 3 pref_version 0
	[]byte{0x28, 0x00}, // 5 pref_syntax 0
	[]byte{0x40, 0x00}, // 8 address 0
) // 15 + 2 + 2 + 2 + 2 = 23 bytes

// goldenEmpty is the answer to an unknown component.
var goldenEmpty = []byte{0x0a, 0x00, 0x12, 0x00, 0x18, 0x00, 0x28, 0x00, 0x40, 0x00}

func withAddr(i Info, a uint64) Info { i.Addr = a; return i }

type goldenCEP struct {
	name string
	info Info
	wire []byte
	size int
}

func goldenCEPs() []goldenCEP {
	return []goldenCEP{
		{"DT", withAddr(DT, testAddr), goldenDT, 30},
		{"Enrollment", Enrollment, goldenEnroll, 23},
		{"Management", withAddr(Management, testAddr), goldenMgmt, 27},
		{"BroadcastDT", BroadcastDT, goldenBroadcastDT, 23},
		{"Empty", Info{}, goldenEmpty, 10},
	}
}

func TestGoldenSizes(t *testing.T) {
	// Guards the hand-written vectors themselves.
	for _, g := range goldenCEPs() {
		if len(g.wire) != g.size {
			t.Errorf("%s: golden is %d bytes, worked out %d", g.name, len(g.wire), g.size)
		}
	}
}

func TestComponentsAreTheReferences(t *testing.T) {
	want := map[string]Info{
		"DT":          {Comp: "Data Transfer", Protocol: "dtp", Version: 1, Syntax: 2},
		"Enrollment":  {Comp: "Enrollment", Protocol: "OEP", Version: 1, Syntax: 0},
		"Management":  {Comp: "Management", Protocol: "LSP", Version: 1, Syntax: 0},
		"BroadcastDT": {Comp: "Data Transfer"},
	}
	got := map[string]Info{"DT": DT, "Enrollment": Enrollment, "Management": Management, "BroadcastDT": BroadcastDT}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s = %+v, want %+v", k, got[k], w)
		}
	}
	if SyntaxGPB != 0 || SyntaxFixed != 2 {
		t.Errorf("syntax constants %d/%d, want 0/2", SyntaxGPB, SyntaxFixed)
	}
}

func TestGoldenMarshal(t *testing.T) {
	for _, g := range goldenCEPs() {
		if got := g.info.Marshal(); !bytes.Equal(got, g.wire) {
			t.Errorf("%s: Marshal\n got % x\nwant % x", g.name, got, g.wire)
		}
	}
}

func TestGoldenParse(t *testing.T) {
	for _, g := range goldenCEPs() {
		got, err := Parse(g.wire)
		if err != nil {
			t.Errorf("%s: Parse: %v", g.name, err)
			continue
		}
		if got != g.info {
			t.Errorf("%s: Parse = %+v, want %+v", g.name, got, g.info)
		}
	}
}

// TestGoldenOnlyReferenceFields checks that the unused fields stay off the
// wire, as in the reference.
func TestGoldenOnlyReferenceFields(t *testing.T) {
	for _, g := range goldenCEPs() {
		var m pb.CepMsg
		if err := proto.Unmarshal(g.info.Marshal(), &m); err != nil {
			t.Fatalf("%s: %v", g.name, err)
		}
		if len(m.SuppVersion) != 0 || len(m.SuppSyntax) != 0 || m.SyntaxSpec != nil {
			t.Errorf("%s: unused fields set: %v", g.name, &m)
		}
		if m.CompName == nil || m.Protocol == nil || m.PrefVersion == nil || m.PrefSyntax == nil || m.Address == nil {
			t.Errorf("%s: a required field is missing: %v", g.name, &m)
		}
	}
}

// TestParseIgnoresUnusedFields: a peer that fills supp_version, supp_syntax
// and syntax_spec is still understood.
func TestParseIgnoresUnusedFields(t *testing.T) {
	b := cat(goldenDT,
		[]byte{0x20, 0x01, 0x20, 0x02},             // 4 supp_version 1, 2 (unpacked)
		[]byte{0x30, 0x02},                         // 6 supp_syntax 2
		[]byte{0x3a, 0x04, 0x08, 0x01, 0x10, 0x04}, // 7 syntax_spec {fids 1, lens 4}
		[]byte{0x48, 0x07},                         // field 9, unknown
	)
	got, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if want := withAddr(DT, testAddr); got != want {
		t.Errorf("Parse = %+v, want %+v", got, want)
	}
}

func TestParseRejects(t *testing.T) {
	for name, b := range map[string][]byte{
		"no address":     goldenDT[:len(goldenDT)-6],
		"no comp_name":   goldenDT[15:],
		"truncated":      goldenDT[:10],
		"bad wire type":  {0x0f},
		"garbage":        {0xff, 0xff, 0xff},
		"empty":          {},
		"length overrun": {0x0a, 0x7f, 'a'},
	} {
		if _, err := Parse(b); !errors.Is(err, ErrMsg) {
			t.Errorf("%s: Parse(% x) = %v, want ErrMsg", name, b, err)
		}
	}
}

func TestMarshalNegativeVersion(t *testing.T) {
	// int32 -1 is a ten-byte varint, as protobuf-c writes it.
	i := Info{Comp: "c", Protocol: "p", Version: -1, Syntax: 1, Addr: 1}
	want := cat([]byte{0x0a, 0x01, 'c', 0x12, 0x01, 'p'},
		[]byte{0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
		[]byte{0x28, 0x01, 0x40, 0x01})
	if got := i.Marshal(); !bytes.Equal(got, want) {
		t.Errorf("Marshal\n got % x\nwant % x", got, want)
	}
	if got, err := Parse(want); err != nil || got != i {
		t.Errorf("Parse = %+v, %v", got, err)
	}
}
