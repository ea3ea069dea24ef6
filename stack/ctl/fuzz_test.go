package ctl_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/o7s/ouroboros/stack/ctl"
	"github.com/o7s/ouroboros/stack/errs"
)

// goldenMsgs are representative messages, one per code, as the dev library,
// the irm tool and the node build them.
var goldenMsgs = []struct {
	name string
	msg  *ctl.Msg
}{
	// irm ipcp create type local name lo
	{"create-ipcp", &ctl.Msg{Code: ctl.Code_CREATE_IPCP, Ipcp: &ctl.IPCPInfo{Type: 0, Name: "lo"}}},
	// irm ipcp destroy name lo
	{"destroy-ipcp", &ctl.Msg{Code: ctl.Code_DESTROY_IPCP, Ipcp: &ctl.IPCPInfo{Id: 1}}},
	// irm ipcp list
	{"list-ipcps", &ctl.Msg{Code: ctl.Code_LIST_IPCPS}},
	// irm ipcp bootstrap name lo layer local hash SHA3_256
	{"bootstrap-ipcp", &ctl.Msg{Code: ctl.Code_BOOTSTRAP_IPCP, Ipcp: &ctl.IPCPInfo{Id: 1},
		Conf: &ctl.IPCPConfig{Layer: "local", Type: 0, HashAlgo: 1, Local: &ctl.LocalConfig{}}}},
	// irm bind program /usr/bin/oping name oping auto -- --listen
	{"bind-program", &ctl.Msg{Code: ctl.Code_BIND_PROGRAM, Name: "oping", Opts: 1, Exec: []string{"/usr/bin/oping", "--listen"}}},
	// irm unbind program oping name oping
	{"unbind-program", &ctl.Msg{Code: ctl.Code_UNBIND_PROGRAM, Prog: "oping", Name: "oping"}},
	// dev.Dial: the session's first message
	{"proc-announce", &ctl.Msg{Code: ctl.Code_PROC_ANNOUNCE, Pid: 4242, Prog: "oping"}},
	// irm bind process 4242 name oping
	{"bind-process", &ctl.Msg{Code: ctl.Code_BIND_PROCESS, Pid: 4242, Name: "oping"}},
	// irm unbind process 4242 name oping
	{"unbind-process", &ctl.Msg{Code: ctl.Code_UNBIND_PROCESS, Pid: 4242, Name: "oping"}},
	// irm name create oping lb spill
	{"create-name", &ctl.Msg{Code: ctl.Code_CREATE_NAME, NameInfo: &ctl.NameInfo{Name: "oping", PolLb: 1}}},
	// irm name destroy oping
	{"destroy-name", &ctl.Msg{Code: ctl.Code_DESTROY_NAME, Name: "oping"}},
	// irm name list
	{"list-names", &ctl.Msg{Code: ctl.Code_LIST_NAMES}},
	// irm name register oping layer local
	{"reg-name", &ctl.Msg{Code: ctl.Code_REG_NAME, Name: "oping", Ipcp: &ctl.IPCPInfo{Id: 1}}},
	// irm name unregister oping layer local
	{"unreg-name", &ctl.Msg{Code: ctl.Code_UNREG_NAME, Name: "oping", Ipcp: &ctl.IPCPInfo{Id: 1}}},
	// dev.Client.Alloc(ctx with 5 s left, "oping", qos.Voice)
	{"flow-alloc", &ctl.Msg{Code: ctl.Code_FLOW_ALLOC, Dst: "oping", TimeoutNs: 5e9,
		Flow: &ctl.FlowInfo{NPid: 4242, Qos: &ctl.QoS{Delay: 50, Bandwidth: 100e3, Availability: 5, Loss: 1, Ber: 1, InOrder: 1, MaxGap: 20, Timeout: 120e3}}}},
	// dev.Client.Accept(context.Background())
	{"flow-accept", &ctl.Msg{Code: ctl.Code_FLOW_ACCEPT, Flow: &ctl.FlowInfo{NPid: 4242}}},
	// dev.Flow.Close
	{"flow-dealloc", &ctl.Msg{Code: ctl.Code_FLOW_DEALLOC, Flow: &ctl.FlowInfo{Id: 1, NPid: 4242}}},
	// the node's answer to an alloc that failed
	{"reply-error", &ctl.Msg{Code: ctl.Code_REPLY, Result: -1003, Detail: `nobody serves "oping"`}},
	// the node's answer to a direct alloc that succeeded
	{"reply-flow", &ctl.Msg{Code: ctl.Code_REPLY, Flow: &ctl.FlowInfo{Id: 1, NPid: 4242, N_1Pid: 4243, Mpl: 1, State: 3,
		Qos: &ctl.QoS{Timeout: 120e3}, Direct: true, Name: "oping"}}},
	// the node's answer to irm ipcp list, irm name list and irm flow list at once
	{"reply-lists", &ctl.Msg{Code: ctl.Code_REPLY,
		Ipcps: []*ctl.IPCPInfo{{Id: 1, Name: "lo", Layer: "local", HashAlgo: 1, State: 2}, {Id: 2, Type: 1, Name: "udp"}},
		Names: []*ctl.NameInfo{{Name: "oping"}, {Name: "echo", PolLb: 1}},
		Flows: []*ctl.FlowInfo{{Id: 1, NPid: 4242, N_1Pid: 1, Mpl: 100, State: 3, Layer: "local"}}}},
	// irm flow list
	{"list-flows", &ctl.Msg{Code: ctl.Code_LIST_FLOWS}},
	// The node tells a process on its session that the layer under flow 7
	// went down, then came back up.
	{"flow-down", &ctl.Msg{Code: ctl.Code_FLOW_DOWN, Flow: &ctl.FlowInfo{Id: 7}}},
	{"flow-up", &ctl.Msg{Code: ctl.Code_FLOW_UP, Flow: &ctl.FlowInfo{Id: 7}}},
	// irm ipcp enroll name net.b dst net.a
	{"enroll-ipcp", &ctl.Msg{Code: ctl.Code_ENROLL_IPCP, Ipcp: &ctl.IPCPInfo{Id: 3}, Dst: "net.a"}},
	// irm ipcp connect name net.b dst net.a component dt qos voice
	{"connect-ipcp", &ctl.Msg{Code: ctl.Code_CONNECT_IPCP, Ipcp: &ctl.IPCPInfo{Id: 3}, Dst: "net.a", Comp: "dt",
		Qos: &ctl.QoS{Delay: 50, Bandwidth: 100e3, Availability: 5, Loss: 1, InOrder: 1, MaxGap: 50, Timeout: 120e3}}},
	// irm ipcp disconnect name net.b dst net.a component mgmt
	{"disconnect-ipcp", &ctl.Msg{Code: ctl.Code_DISCONNECT_IPCP, Ipcp: &ctl.IPCPInfo{Id: 3}, Dst: "net.a", Comp: "mgmt"}},
	// dev.Client.Join(ctx, "bc")
	{"flow-join", &ctl.Msg{Code: ctl.Code_FLOW_JOIN, Dst: "bc", Flow: &ctl.FlowInfo{NPid: 4242}}},
	// irm bind ipcp net.b name net / irm unbind ipcp net.b name net
	{"bind-ipcp", &ctl.Msg{Code: ctl.Code_BIND_IPCP, Ipcp: &ctl.IPCPInfo{Id: 3}, Name: "net"}},
	{"unbind-ipcp", &ctl.Msg{Code: ctl.Code_UNBIND_IPCP, Ipcp: &ctl.IPCPInfo{Id: 3}, Name: "net"}},
	// otb inspect, and the node's answer
	{"ipcp-info", &ctl.Msg{Code: ctl.Code_IPCP_INFO, Ipcp: &ctl.IPCPInfo{Id: 3}}},
	{"reply-detail", &ctl.Msg{Code: ctl.Code_REPLY, IpcpDetail: &ctl.IPCPDetail{Addr: "01.02.03.04",
		Neighbours: []*ctl.Neighbour{{Addr: "05.06.07.08", Comp: "dt", Dst: "net.a", Up: true}},
		Routes:     []*ctl.Route{{Dst: "05.06.07.08", NextHops: []string{"05.06.07.08"}}},
		Names:      []string{"oping"}, Unnamed: 1, Flows: 2}}},
	// irm ipcp bootstrap name net.a type unicast layer net routing lfa congestion none
	{"bootstrap-unicast", &ctl.Msg{Code: ctl.Code_BOOTSTRAP_IPCP, Ipcp: &ctl.IPCPInfo{Id: 2},
		Conf: &ctl.IPCPConfig{Layer: "net", Type: 1, HashAlgo: 1, Unicast: &ctl.UnicastConfig{AddrSize: 4, EidSize: 8, MaxTtl: 60,
			Routing: 1, TRecalc: 4, TUpdate: 15, TTimeo: 60, DhtAlpha: 3, DhtK: 8, DhtTExpire: 86400, DhtTRefresh: 900, DhtTReplicate: 900, CongSet: true}}}},
}

func marshal(t testing.TB, m *ctl.Msg) []byte {
	t.Helper()
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		t.Fatalf("marshal %v: %v", m, err)
	}
	return b
}

// TestGoldenCoversEveryCode keeps the fuzz seeds complete as codes are added.
func TestGoldenCoversEveryCode(t *testing.T) {
	have := map[ctl.Code]bool{}
	for _, g := range goldenMsgs {
		have[g.msg.GetCode()] = true
	}
	for num, name := range ctl.Code_name {
		if c := ctl.Code(num); c != ctl.Code_CODE_UNSPECIFIED && !have[c] {
			t.Errorf("no golden message for %s", name)
		}
	}
}

func TestDecodeGolden(t *testing.T) {
	for _, g := range goldenMsgs {
		t.Run(g.name, func(t *testing.T) {
			got, err := ctl.Decode(marshal(t, g.msg))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !proto.Equal(got, g.msg) {
				t.Fatalf("Decode = %v, want %v", got, g.msg)
			}
		})
	}
}

// TestDecodeWire pins the wire format: field numbers and encodings are a
// contract between separately built binaries.
func TestDecodeWire(t *testing.T) {
	tests := []struct {
		name string
		wire []byte
		want *ctl.Msg
	}{
		{"list-names", []byte{0x08, 0x11}, &ctl.Msg{Code: ctl.Code_LIST_NAMES}},
		{"list-flows", []byte{0x08, 0x64}, &ctl.Msg{Code: ctl.Code_LIST_FLOWS}},
		// dst is field 18: tag (18<<3)|2 = 0x92 0x01
		{"flow-alloc", []byte{0x08, 0x14, 0x92, 0x01, 0x04, 'e', 'c', 'h', 'o'}, &ctl.Msg{Code: ctl.Code_FLOW_ALLOC, Dst: "echo"}},
		// result is sint32 (zigzag): -1000 is 1999 = 0xcf 0x0f
		{"reply-error", []byte{0x08, 0x1b, 0x10, 0xcf, 0x0f, 0x1a, 0x01, 'x'}, &ctl.Msg{Code: ctl.Code_REPLY, Result: -1000, Detail: "x"}},
		// pid is sint32 too: 4242 is 8484 = 0xa4 0x42
		{"proc-announce", []byte{0x08, 0x0b, 0x20, 0xa4, 0x42, 0x2a, 0x01, 'p'}, &ctl.Msg{Code: ctl.Code_PROC_ANNOUNCE, Pid: 4242, Prog: "p"}},
		// flow is field 10, its id field 1
		{"flow-dealloc", []byte{0x08, 0x17, 0x52, 0x02, 0x08, 0x07}, &ctl.Msg{Code: ctl.Code_FLOW_DEALLOC, Flow: &ctl.FlowInfo{Id: 7}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ctl.Decode(tt.wire)
			if err != nil {
				t.Fatalf("Decode(%x): %v", tt.wire, err)
			}
			if !proto.Equal(got, tt.want) {
				t.Fatalf("Decode(%x) = %v, want %v", tt.wire, got, tt.want)
			}
			if re := marshal(t, tt.want); !bytes.Equal(re, tt.wire) {
				t.Fatalf("Marshal(%v) = %x, want %x", tt.want, re, tt.wire)
			}
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	tests := []struct {
		name string
		wire []byte
	}{
		{"empty", nil},
		{"no code", marshal(t, &ctl.Msg{Name: "x", Flow: &ctl.FlowInfo{Id: 1}})},
		{"code 0 explicit", []byte{0x08, 0x00}},
		{"unknown code 2", []byte{0x08, 0x02}},
		{"unknown code 99", []byte{0x08, 0x63}},
		{"negative code", []byte{0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
		{"last code wins and is unknown", []byte{0x08, 0x11, 0x08, 0x63}},
		{"truncated varint", []byte{0x08}},
		{"overlong varint", []byte{0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
		{"length past the end", []byte{0x08, 0x11, 0x32, 0x10, 'a'}},
		{"invalid wire type", []byte{0x08, 0x11, 0x37}},
		{"field number 0", []byte{0x08, 0x11, 0x02, 0x00}},
		{"invalid utf-8 name", []byte{0x08, 0x11, 0x32, 0x02, 0xc3, 0x28}},
		{"invalid utf-8 nested", []byte{0x08, 0x17, 0x52, 0x03, 0x42, 0x01, 0xff}},
		{"wrong wire type for code", []byte{0x0a, 0x01, 0x11}},
		{"garbage", []byte("\xff\xfe\xfd\xfc garbage \x00\x01")},
		{"unterminated group", []byte{0x08, 0x11, 0x1b}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ctl.Decode(tt.wire)
			if err == nil {
				t.Fatalf("Decode(%x) = %v, want an error", tt.wire, m)
			}
			if m != nil {
				t.Fatalf("Decode(%x) returned %v with error %v, want no message", tt.wire, m, err)
			}
		})
	}
}

// TestDecodeTruncated cuts every golden encoding at every byte: a cut
// inside a field is an error, a cut between fields decodes to a prefix of
// the message (code is field 1, so it always survives).
func TestDecodeTruncated(t *testing.T) {
	for _, g := range goldenMsgs {
		t.Run(g.name, func(t *testing.T) {
			b := marshal(t, g.msg)
			boundary := map[int]bool{}
			for off := 0; off < len(b); {
				_, _, n := protowire.ConsumeField(b[off:])
				if n < 0 {
					t.Fatalf("golden encoding %x is not well formed at %d", b, off)
				}
				off += n
				boundary[off] = true
			}
			for i := range len(b) {
				m, err := ctl.Decode(b[:i])
				switch {
				case boundary[i] && err != nil:
					t.Fatalf("Decode(b[:%d]) at a field boundary: %v", i, err)
				case !boundary[i] && err == nil:
					t.Fatalf("Decode(b[:%d]) inside a field = %v, want an error", i, m)
				case err == nil && m.GetCode() != g.msg.GetCode():
					t.Fatalf("Decode(b[:%d]) code = %v, want %v", i, m.GetCode(), g.msg.GetCode())
				}
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	for _, g := range goldenMsgs {
		f.Add(marshal(f, g.msg))
	}
	f.Add([]byte{})                          // empty datagram
	f.Add([]byte{0x08, 0x63})                // unknown code 99
	f.Add([]byte{0x08, 0x11, 0xf8, 0x07, 1}) // LIST_NAMES with unknown field 127
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ctl.Decode(b) // must never panic
		if err != nil {
			if m != nil {
				t.Fatalf("Decode returned %v with error %v", m, err)
			}
			return
		}
		if _, ok := ctl.Code_name[int32(m.GetCode())]; !ok || m.GetCode() == ctl.Code_CODE_UNSPECIFIED {
			t.Fatalf("Decode accepted code %d", m.GetCode())
		}
		re, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
		if err != nil {
			t.Fatalf("re-marshal %v: %v", m, err)
		}
		m2, err := ctl.Decode(re)
		if err != nil {
			t.Fatalf("Decode(re-marshal %x): %v", re, err)
		}
		if !proto.Equal(m, m2) {
			t.Fatalf("re-decoded = %v, want %v", m2, m)
		}
		re2, err := proto.MarshalOptions{Deterministic: true}.Marshal(m2)
		if err != nil || !bytes.Equal(re, re2) {
			t.Fatalf("second re-marshal = %x, %v; want %x", re2, err, re)
		}
		// A reply the node accepts is also safe to turn into an error.
		if err := ctl.FromReply(m); (err == nil) != (m.GetResult() == 0) {
			t.Fatalf("FromReply(result %d) = %v", m.GetResult(), err)
		}
	})
}

// wireCodes are the result codes on the wire (Linux errno values for the
// generic errors, the reference's own numbers for the rest).
var wireCodes = []struct {
	err  error
	code int32
}{
	{errs.ErrNotAllocated, -1000},
	{errs.ErrIPCPType, -1001},
	{errs.ErrNode, -1002},
	{errs.ErrIPCP, -1003},
	{errs.ErrIPCPState, -1004},
	{errs.ErrFlowDown, -1005},
	{errs.ErrFlowPeer, -1006},
	{errs.ErrName, -1007},
	{errs.ErrCrypt, -1008},
	{errs.ErrAuth, -1009},
	{errs.ErrTimeout, -110},          // ETIMEDOUT
	{errs.ErrInvalid, -22},           // EINVAL
	{errs.ErrPermission, -1},         // EPERM
	{errs.ErrExist, -17},             // EEXIST
	{errs.ErrNotFound, -2},           // ENOENT
	{errs.ErrMsgSize, -90},           // EMSGSIZE
	{errs.ErrResources, -12},         // ENOMEM
	{errors.ErrUnsupported, -95},     // ENOTSUP
	{context.Canceled, -125},         // ECANCELED
	{errs.ErrQoS, -71},               // EPROTO
	{context.DeadlineExceeded, -110}, // travels as errs.ErrTimeout
}

func TestResultRoundTrip(t *testing.T) {
	for _, w := range wireCodes {
		t.Run(w.err.Error(), func(t *testing.T) {
			err := fmt.Errorf("alloc oping: %w", w.err)
			m := ctl.Reply(err)
			if m.GetCode() != ctl.Code_REPLY {
				t.Errorf("Reply code = %v, want REPLY", m.GetCode())
			}
			if got := m.GetResult(); got != errs.Code(err) || got >= 0 {
				t.Fatalf("Reply result = %d, Result = %d, want the same negative code", got, errs.Code(err))
			}
			if runtime.GOOS == "linux" && m.GetResult() != w.code {
				t.Errorf("Result = %d, want %d", m.GetResult(), w.code)
			}
			// Across the wire and back.
			m2, derr := ctl.Decode(marshal(t, m))
			if derr != nil {
				t.Fatal(derr)
			}
			got := ctl.FromReply(m2)
			want := w.err
			if want == context.DeadlineExceeded {
				want = errs.ErrTimeout
			}
			if !errors.Is(got, want) {
				t.Errorf("FromReply = %v, does not wrap %v", got, want)
			}
			if got.Error() != err.Error() {
				t.Errorf("FromReply text = %q, want %q", got.Error(), err.Error())
			}
			var ce *errs.Error
			if !errors.As(got, &ce) || ce.Code != m.GetResult() || ce.Detail != err.Error() {
				t.Errorf("FromReply = %#v, want a *errs.Error with code %d and the detail", got, m.GetResult())
			}
			if errs.Code(got) != m.GetResult() {
				t.Errorf("errs.Code(FromReply) = %d, want %d (relaying keeps the code)", errs.Code(got), m.GetResult())
			}
			for _, o := range wireCodes {
				if o.code != w.code && errors.Is(got, o.err) {
					t.Errorf("FromReply = %v also matches %v", got, o.err)
				}
			}
		})
	}
}

func TestResultCodesDistinct(t *testing.T) {
	seen := map[int32]error{}
	for _, w := range wireCodes {
		if w.err == context.DeadlineExceeded {
			continue
		}
		c := errs.Code(w.err)
		if prev, dup := seen[c]; dup {
			t.Errorf("%v and %v share code %d", prev, w.err, c)
		}
		seen[c] = w.err
	}
}

func TestResultNil(t *testing.T) {
	if got := errs.Code(nil); got != 0 {
		t.Errorf("errs.Code(nil) = %d, want 0", got)
	}
	m := ctl.Reply(nil)
	if m.GetResult() != 0 || m.GetDetail() != "" || m.GetCode() != ctl.Code_REPLY {
		t.Errorf("Reply(nil) = %v, want a bare REPLY", m)
	}
	if err := ctl.FromReply(m); err != nil {
		t.Errorf("FromReply(Reply(nil)) = %v, want nil", err)
	}
	if err := ctl.FromReply(nil); err != nil {
		t.Errorf("FromReply(nil) = %v, want nil", err)
	}
}

func TestResultUncoded(t *testing.T) {
	err := errors.New("disk on fire")
	m := ctl.Reply(err)
	if runtime.GOOS == "linux" && m.GetResult() != -5 {
		t.Errorf("Result = %d, want -EIO", m.GetResult())
	}
	got := ctl.FromReply(m)
	if got == nil || got.Error() != "disk on fire" {
		t.Fatalf("FromReply = %v, want the detail text", got)
	}
	for _, w := range wireCodes {
		if errors.Is(got, w.err) {
			t.Errorf("FromReply(-EIO) matches %v", w.err)
		}
	}
}

func TestFromReplyUnknownCodes(t *testing.T) {
	for _, code := range []int32{-1, -9999, -1010, 1, 42, -2147483648, 2147483647} {
		if code == -1 && runtime.GOOS == "linux" {
			continue // EPERM
		}
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			for _, detail := range []string{"", "from a newer node"} {
				err := ctl.FromReply(&ctl.Msg{Code: ctl.Code_REPLY, Result: code, Detail: detail})
				if err == nil {
					t.Fatalf("FromReply(result %d) = nil, want an error", code)
				}
				if detail != "" && err.Error() != detail {
					t.Errorf("FromReply text = %q, want %q", err.Error(), detail)
				}
				if detail == "" && !strings.Contains(err.Error(), fmt.Sprint(code)) {
					t.Errorf("FromReply text = %q, want it to name code %d", err.Error(), code)
				}
				for _, w := range wireCodes {
					if w.code != code && errors.Is(err, w.err) {
						t.Errorf("FromReply(result %d) matches %v", code, w.err)
					}
				}
			}
		})
	}
}
