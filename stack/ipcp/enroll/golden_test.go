package enroll

import (
	"bytes"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/stack/ipcp/pb"
)

// Golden OEP encodings, worked out by hand from the proto2 wire rules: a key
// is (field number << 3) | wire type (0 varint, 2 length delimited); a
// varint is 7-bit groups, least significant first, the high bit set on all
// but the last byte; a negative int32/int64 is sign-extended to ten bytes.
// protobuf-c (the reference) writes fields in field-number order and always
// writes required fields.
//
// What the reference fills (src/lib/protobuf.c): enroll_req/ack always
// carry an 8-byte id; enroll_resp carries id, t_sec, t_nsec, response and,
// only when response >= 0, conf. ipcp_config_s_to_msg sets layer_info and
// ipcp_type, plus unicast for IPCP_UNICAST (nothing for IPCP_BROADCAST);
// routing_config_s_to_msg sets ls only for ROUTING_LINK_STATE (0, the only
// policy) and dir_config_s_to_msg sets dht only for DIR_DHT (0, the only
// policy), so a valid unicast configuration always has routing.ls and
// dir.dht.

var testID = []byte{1, 2, 3, 4, 5, 6, 7, 8}

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

var idField = cat([]byte{0x0a, 0x08}, testID) // 1 id, len 8

// goldenReq is enroll_req_msg {id 01..08}.
var goldenReq = idField // 10 bytes

// goldenAck is enroll_ack_msg {id, result 0}.
var goldenAck = cat(idField, []byte{0x10, 0x00}) // 12 bytes

// goldenAckFail is enroll_ack_msg {id, result -1}.
var goldenAckFail = cat(idField,
	[]byte{0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}) // 21 bytes

// defaultConf is a layer bootstrapped with the reference's defaults, as
// handed out by an enroller at address 0x11223344.
func defaultConf() Conf {
	return Conf{
		Layer: ipcp.Layer{Name: "unicast-layer", Hash: ipcp.SHA3_256},
		Type:  ipcp.Unicast,
		Unicast: &ipcp.UnicastConfig{
			AddrSize: 4, EIDSize: 8, MaxTTL: 60,
			AddrAuth: ipcp.AddrAuthFlat,
			Routing:  0, TRecalc: 4 * time.Second, TUpdate: 15 * time.Second, TTimeo: 60 * time.Second,
			Dir: ipcp.DirDHT, DHTAlpha: 3, DHTK: 8,
			TExpire: 86400 * time.Second, TRefresh: 900 * time.Second, TReplicate: 900 * time.Second,
			Cong:    ipcp.CongMBECN,
			DHTPeer: 0x11223344,
		},
	}
}

// goldenConfDefault is ipcp_config_msg for defaultConf.
var goldenConfDefault = cat(
	[]byte{0x0a, 0x11}, // 1 layer_info, len 17
	cat(
		[]byte{0x0a, 0x0d}, []byte("unicast-layer"), // 1 name, len 13
		[]byte{0x10, 0x01}, // 2 dir_hash_algo 1 (SHA3_256)
	),
	[]byte{0x10, 0x01}, // 2 ipcp_type 1 (unicast)
	[]byte{0x1a, 0x34}, // 3 unicast, len 52
	cat(
		[]byte{0x0a, 0x14}, // 1 dt, len 20
		cat(
			[]byte{0x08, 0x04, 0x10, 0x08, 0x18, 0x3c}, // addr_size 4, eid_size 8, max_ttl 60
			[]byte{0x22, 0x0c},                         // 4 routing, len 12
			cat(
				[]byte{0x08, 0x00}, // 1 pol 0 (link state)
				[]byte{0x12, 0x08}, // 2 ls, len 8
				[]byte{0x08, 0x00, 0x10, 0x04, 0x18, 0x0f, 0x20, 0x3c}, // simple, 4, 15, 60
			),
		),
		[]byte{0x12, 0x18}, // 2 dir, len 24
		cat(
			[]byte{0x08, 0x00}, // 1 pol 0 (DHT)
			[]byte{0x12, 0x14}, // 2 dht, len 20
			cat(
				[]byte{0x08, 0x03, 0x10, 0x08},             // alpha 3, k 8
				[]byte{0x18, 0x80, 0xa3, 0x05},             // t_expire 86400 = 0 + 35<<7 + 5<<14
				[]byte{0x20, 0x84, 0x07},                   // t_refresh 900 = 4 + 7<<7
				[]byte{0x28, 0x84, 0x07},                   // t_replicate 900
				[]byte{0x30, 0xc4, 0xe6, 0x88, 0x89, 0x01}, // peer 0x11223344
			),
		),
		[]byte{0x18, 0x00}, // 3 addr_auth_type 0 (flat)
		[]byte{0x20, 0x01}, // 4 cong_avoid 1 (mb-ecn)
	),
) // 19 + 2 + 2 + 52 = 75 bytes

// distinctConf has a different value in (nearly) every field, so that a
// field written to the wrong place shows.
func distinctConf() Conf {
	return Conf{
		Layer: ipcp.Layer{Name: "ly", Hash: ipcp.SHA3_512},
		Type:  ipcp.Unicast,
		Unicast: &ipcp.UnicastConfig{
			AddrSize: 4, EIDSize: 8, MaxTTL: 30,
			AddrAuth: ipcp.AddrAuthFlat,
			Routing:  1, TRecalc: 5 * time.Second, TUpdate: 20 * time.Second, TTimeo: 90 * time.Second,
			Dir: ipcp.DirDHT, DHTAlpha: 2, DHTK: 5,
			TExpire: 3600 * time.Second, TRefresh: 600 * time.Second, TReplicate: 300 * time.Second,
			Cong:    ipcp.CongNone,
			DHTPeer: 0x0102030405,
		},
	}
}

var goldenConfDistinct = cat(
	[]byte{0x0a, 0x06, 0x0a, 0x02, 'l', 'y', 0x10, 0x03}, // layer_info {"ly", SHA3_512}
	[]byte{0x10, 0x01}, // ipcp_type 1
	[]byte{0x1a, 0x33}, // unicast, len 51
	cat(
		[]byte{0x0a, 0x14}, // dt, len 20
		cat(
			[]byte{0x08, 0x04, 0x10, 0x08, 0x18, 0x1e},             // 4, 8, ttl 30
			[]byte{0x22, 0x0c, 0x08, 0x00, 0x12, 0x08},             // routing {pol 0, ls len 8}
			[]byte{0x08, 0x01, 0x10, 0x05, 0x18, 0x14, 0x20, 0x5a}, // lfa, 5, 20, 90
		),
		[]byte{0x12, 0x17, 0x08, 0x00, 0x12, 0x13}, // dir {pol 0, dht len 19}
		cat(
			[]byte{0x08, 0x02, 0x10, 0x05},             // alpha 2, k 5
			[]byte{0x18, 0x90, 0x1c},                   // t_expire 3600 = 16 + 28<<7
			[]byte{0x20, 0xd8, 0x04},                   // t_refresh 600 = 88 + 4<<7
			[]byte{0x28, 0xac, 0x02},                   // t_replicate 300 = 44 + 2<<7
			[]byte{0x30, 0x85, 0x88, 0x8c, 0x90, 0x10}, // peer 0x0102030405
		),
		[]byte{0x18, 0x00, 0x20, 0x00}, // flat, no congestion avoidance
	),
) // 8 + 2 + 2 + 51 = 63 bytes

func broadcastConf() Conf {
	return Conf{Layer: ipcp.Layer{Name: "bc", Hash: ipcp.SHA3_256}, Type: ipcp.Broadcast}
}

// goldenConfBroadcast: the reference sends no type-specific part for a
// broadcast layer.
var goldenConfBroadcast = []byte{0x0a, 0x06, 0x0a, 0x02, 'b', 'c', 0x10, 0x01, 0x10, 0x02}

const (
	testSec  = 1700000000 // varint 0x80 0xe2 0xcf 0xaa 0x06: 0 + 98<<7 + 79<<14 + 42<<21 + 6<<28
	testNsec = 123456789  // varint 0x95 0x9a 0xef 0x3a: 21 + 26<<7 + 111<<14 + 58<<21
)

var timeFields = []byte{
	0x10, 0x80, 0xe2, 0xcf, 0xaa, 0x06, // 2 t_sec
	0x18, 0x95, 0x9a, 0xef, 0x3a, // 3 t_nsec
}

// goldenResp is enroll_resp_msg {id, t, response 0, conf default}.
var goldenResp = cat(idField, timeFields,
	[]byte{0x20, 0x00}, // 4 response 0
	[]byte{0x2a, 0x4b}, // 5 conf, len 75
	goldenConfDefault,
) // 10 + 11 + 2 + 2 + 75 = 100 bytes

// goldenRespRefused is the reference's refusal: response -1 and no conf.
var goldenRespRefused = cat(idField, timeFields,
	[]byte{0x20, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})

type goldenConf struct {
	name string
	conf Conf
	wire []byte
	size int
}

func goldenConfs() []goldenConf {
	return []goldenConf{
		{"default", defaultConf(), goldenConfDefault, 75},
		{"distinct", distinctConf(), goldenConfDistinct, 63},
		{"broadcast", broadcastConf(), goldenConfBroadcast, 10},
	}
}

func TestGoldenSizes(t *testing.T) {
	for _, g := range goldenConfs() {
		if len(g.wire) != g.size {
			t.Errorf("%s: golden is %d bytes, worked out %d", g.name, len(g.wire), g.size)
		}
	}
	for name, s := range map[string][2]int{
		"req": {len(goldenReq), 10}, "ack": {len(goldenAck), 12}, "ack fail": {len(goldenAckFail), 21},
		"resp": {len(goldenResp), 100}, "refused": {len(goldenRespRefused), 32},
	} {
		if s[0] != s[1] {
			t.Errorf("%s: golden is %d bytes, worked out %d", name, s[0], s[1])
		}
	}
}

func marshal(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestGoldenConfMsg(t *testing.T) {
	for _, g := range goldenConfs() {
		if got := marshal(t, ConfMsg(g.conf)); !bytes.Equal(got, g.wire) {
			t.Errorf("%s: ConfMsg\n got % x\nwant % x", g.name, got, g.wire)
		}
	}
}

func TestGoldenConfFromMsg(t *testing.T) {
	for _, g := range goldenConfs() {
		var m pb.IpcpConfigMsg
		if err := proto.Unmarshal(g.wire, &m); err != nil {
			t.Fatalf("%s: %v", g.name, err)
		}
		c, err := ConfFromMsg(&m)
		if err != nil {
			t.Fatalf("%s: ConfFromMsg: %v", g.name, err)
		}
		if !confEqual(c, g.conf) {
			t.Errorf("%s: ConfFromMsg = %s, want %s", g.name, confString(c), confString(g.conf))
		}
	}
}

func TestGoldenReq(t *testing.T) {
	if got := marshal(t, &pb.EnrollReqMsg{Id: testID}); !bytes.Equal(got, goldenReq) {
		t.Errorf("req\n got % x\nwant % x", got, goldenReq)
	}
	var m pb.EnrollReqMsg
	if err := proto.Unmarshal(goldenReq, &m); err != nil || !bytes.Equal(m.GetId(), testID) {
		t.Errorf("req parses to %v, %v", &m, err)
	}
}

func TestGoldenResp(t *testing.T) {
	m := &pb.EnrollRespMsg{Id: testID, TSec: proto.Int64(testSec), TNsec: proto.Int32(testNsec),
		Response: proto.Int32(0), Conf: ConfMsg(defaultConf())}
	if got := marshal(t, m); !bytes.Equal(got, goldenResp) {
		t.Errorf("resp\n got % x\nwant % x", got, goldenResp)
	}
	var p pb.EnrollRespMsg
	if err := proto.Unmarshal(goldenResp, &p); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(p.GetId(), testID) || p.GetTSec() != testSec || p.GetTNsec() != testNsec || p.GetResponse() != 0 {
		t.Errorf("resp parses to %v", &p)
	}
	c, err := ConfFromMsg(p.GetConf())
	if err != nil || !confEqual(c, defaultConf()) {
		t.Errorf("resp conf %s, %v", confString(c), err)
	}

	var r pb.EnrollRespMsg
	if err := proto.Unmarshal(goldenRespRefused, &r); err != nil {
		t.Fatal(err)
	}
	if r.GetResponse() != -1 || r.Conf != nil {
		t.Errorf("refusal parses to %v", &r)
	}
}

func TestGoldenAck(t *testing.T) {
	for _, g := range []struct {
		res  int32
		wire []byte
	}{{0, goldenAck}, {-1, goldenAckFail}} {
		if got := marshal(t, &pb.EnrollAckMsg{Id: testID, Result: proto.Int32(g.res)}); !bytes.Equal(got, g.wire) {
			t.Errorf("ack %d\n got % x\nwant % x", g.res, got, g.wire)
		}
		var m pb.EnrollAckMsg
		if err := proto.Unmarshal(g.wire, &m); err != nil || m.GetResult() != g.res || !bytes.Equal(m.GetId(), testID) {
			t.Errorf("ack %d parses to %v, %v", g.res, &m, err)
		}
	}
}

func TestConstants(t *testing.T) {
	if IDLen != 8 || BufLen != 1024 || NoAck != -100 || ClockWarn != 20*time.Millisecond {
		t.Errorf("IDLen %d, BufLen %d, NoAck %d, ClockWarn %v", IDLen, BufLen, NoAck, ClockWarn)
	}
}
