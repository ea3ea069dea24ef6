package pb

import (
	"bytes"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
)

// Golden encodings are written out by hand. A tag byte is
// (field number << 3) | wire type, with wire type 0 = varint and
// 2 = length-delimited; varints are little-endian groups of seven bits with
// the high bit set on every byte but the last. protobuf-c (the reference)
// and protobuf-go both emit fields in ascending field-number order, always
// emit set required fields (even zero ones) and never pack proto2 repeated
// scalars, so these bytes are also what a reference IPCP sends.

// cat joins byte slices; it keeps nested goldens readable.
func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// ---- model.proto ----------------------------------------------------------

func layerInfo() *LayerInfoMsg {
	return &LayerInfoMsg{Name: proto.String("ly"), DirHashAlgo: proto.Uint32(3)}
}

var layerInfoWire = []byte{
	0x0a, 0x02, 'l', 'y', // field 1 (name) len-delim, len 2
	0x10, 0x03, // field 2 (dir_hash_algo) varint 3
} // 6 bytes

// ---- ipcp_config.proto ----------------------------------------------------

func lsConfig() *LsConfigMsg {
	return &LsConfigMsg{
		Pol:     proto.Uint32(1),
		TRecalc: proto.Uint32(4),
		TUpdate: proto.Uint32(15),
		TTimeo:  proto.Uint32(120),
	}
}

var lsConfigWire = []byte{
	0x08, 0x01, // field 1 (pol) varint 1
	0x10, 0x04, // field 2 (t_recalc) varint 4
	0x18, 0x0f, // field 3 (t_update) varint 15
	0x20, 0x78, // field 4 (t_timeo) varint 120
} // 8 bytes

func routingConfig() *RoutingConfigMsg {
	return &RoutingConfigMsg{Pol: proto.Uint32(0), Ls: lsConfig()}
}

var routingConfigWire = cat([]byte{
	0x08, 0x00, // field 1 (pol) varint 0: a set zero required field is sent
	0x12, 0x08, // field 2 (ls) len-delim, len 8
}, lsConfigWire) // 12 bytes

func dtConfig() *DtConfigMsg {
	return &DtConfigMsg{
		AddrSize: proto.Uint32(4),
		EidSize:  proto.Uint32(8),
		MaxTtl:   proto.Uint32(60),
		Routing:  routingConfig(),
	}
}

var dtConfigWire = cat([]byte{
	0x08, 0x04, // field 1 (addr_size) varint 4
	0x10, 0x08, // field 2 (eid_size) varint 8
	0x18, 0x3c, // field 3 (max_ttl) varint 60
	0x22, 0x0c, // field 4 (routing) len-delim, len 12
}, routingConfigWire) // 20 bytes

func dirDhtConfig() *DirDhtConfigMsg {
	return &DirDhtConfigMsg{
		Alpha:      proto.Uint32(3),
		K:          proto.Uint32(8),
		TExpire:    proto.Uint32(86400),
		TRefresh:   proto.Uint32(900),
		TReplicate: proto.Uint32(900),
		Peer:       proto.Uint64(0x12345678),
	}
}

var dirDhtConfigWire = []byte{
	0x08, 0x03, // field 1 (alpha) varint 3
	0x10, 0x08, // field 2 (k) varint 8
	0x18, 0x80, 0xa3, 0x05, // field 3 (t_expire) varint 86400 = 0 + 35<<7 + 5<<14
	0x20, 0x84, 0x07, // field 4 (t_refresh) varint 900 = 4 + 7<<7
	0x28, 0x84, 0x07, // field 5 (t_replicate) varint 900
	0x30, 0xf8, 0xac, 0xd1, 0x91, 0x01, // field 6 (peer) varint 0x12345678
} // 20 bytes

func dirConfig() *DirConfigMsg {
	return &DirConfigMsg{Pol: proto.Uint32(0), Dht: dirDhtConfig()}
}

var dirConfigWire = cat([]byte{
	0x08, 0x00, // field 1 (pol) varint 0
	0x12, 0x14, // field 2 (dht) len-delim, len 20
}, dirDhtConfigWire) // 24 bytes

func uniConfig() *UniConfigMsg {
	return &UniConfigMsg{
		Dt:           dtConfig(),
		Dir:          dirConfig(),
		AddrAuthType: proto.Uint32(0),
		CongAvoid:    proto.Uint32(1),
	}
}

var uniConfigWire = cat(
	[]byte{0x0a, 0x14}, // field 1 (dt) len-delim, len 20
	dtConfigWire,
	[]byte{0x12, 0x18}, // field 2 (dir) len-delim, len 24
	dirConfigWire,
	[]byte{
		0x18, 0x00, // field 3 (addr_auth_type) varint 0
		0x20, 0x01, // field 4 (cong_avoid) varint 1
	},
) // 22 + 26 + 4 = 52 bytes

func ethConfig() *EthConfigMsg {
	return &EthConfigMsg{Dev: proto.String("eth0"), Ethertype: proto.Uint32(0xa000)}
}

var ethConfigWire = []byte{
	0x0a, 0x04, 'e', 't', 'h', '0', // field 1 (dev) len-delim, len 4
	0x10, 0x80, 0xc0, 0x02, // field 2 (ethertype) varint 0xa000 = 0 + 64<<7 + 2<<14
} // 10 bytes

func udp4Config() *Udp4ConfigMsg {
	return &Udp4ConfigMsg{
		// 127.0.0.1 as the in_addr value read on a little-endian host.
		IpAddr:  proto.Uint32(0x0100007f),
		Port:    proto.Uint32(3435),
		DnsAddr: proto.Uint32(0),
	}
}

var udp4ConfigWire = []byte{
	0x08, 0xff, 0x80, 0x80, 0x08, // field 1 (ip_addr) varint 0x0100007f = 0x7f + 8<<21
	0x10, 0xeb, 0x1a, // field 2 (port) varint 3435 = 0x6b + 0x1a<<7
	0x18, 0x00, // field 3 (dns_addr) varint 0 (unused)
} // 10 bytes

var (
	ip6Loopback = []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}
	ip6Zero     = make([]byte, 16)
)

func udp6Config() *Udp6ConfigMsg {
	return &Udp6ConfigMsg{
		IpAddr:  ip6Loopback,
		Port:    proto.Uint32(3435),
		DnsAddr: ip6Zero,
	}
}

var udp6ConfigWire = cat(
	[]byte{0x0a, 0x10}, // field 1 (ip_addr) len-delim, len 16
	ip6Loopback,
	[]byte{0x10, 0xeb, 0x1a}, // field 2 (port) varint 3435
	[]byte{0x1a, 0x10},       // field 3 (dns_addr) len-delim, len 16
	ip6Zero,
) // 18 + 3 + 18 = 39 bytes

func ipcpConfigUnicast() *IpcpConfigMsg {
	return &IpcpConfigMsg{
		LayerInfo: layerInfo(),
		IpcpType:  proto.Uint32(1),
		Unicast:   uniConfig(),
	}
}

var ipcpConfigUnicastWire = cat(
	[]byte{0x0a, 0x06}, // field 1 (layer_info) len-delim, len 6
	layerInfoWire,
	[]byte{0x10, 0x01}, // field 2 (ipcp_type) varint 1 (UNICAST)
	[]byte{0x1a, 0x34}, // field 3 (unicast) len-delim, len 52
	uniConfigWire,
) // 8 + 2 + 54 = 64 bytes

func ipcpConfigUDP4() *IpcpConfigMsg {
	return &IpcpConfigMsg{LayerInfo: layerInfo(), IpcpType: proto.Uint32(5), Udp4: udp4Config()}
}

var ipcpConfigUDP4Wire = cat(
	[]byte{0x0a, 0x06}, // field 1 (layer_info) len-delim, len 6
	layerInfoWire,
	[]byte{0x10, 0x05}, // field 2 (ipcp_type) varint 5 (UDP4)
	[]byte{0x22, 0x0a}, // field 4 (udp4) len-delim, len 10
	udp4ConfigWire,
)

func ipcpConfigUDP6() *IpcpConfigMsg {
	return &IpcpConfigMsg{LayerInfo: layerInfo(), IpcpType: proto.Uint32(6), Udp6: udp6Config()}
}

var ipcpConfigUDP6Wire = cat(
	[]byte{0x0a, 0x06}, // field 1 (layer_info) len-delim, len 6
	layerInfoWire,
	[]byte{0x10, 0x06}, // field 2 (ipcp_type) varint 6 (UDP6)
	[]byte{0x2a, 0x27}, // field 5 (udp6) len-delim, len 39
	udp6ConfigWire,
)

func ipcpConfigEth() *IpcpConfigMsg {
	return &IpcpConfigMsg{LayerInfo: layerInfo(), IpcpType: proto.Uint32(4), Eth: ethConfig()}
}

var ipcpConfigEthWire = cat(
	[]byte{0x0a, 0x06}, // field 1 (layer_info) len-delim, len 6
	layerInfoWire,
	[]byte{0x10, 0x04}, // field 2 (ipcp_type) varint 4 (ETH_DIX)
	[]byte{0x32, 0x0a}, // field 6 (eth) len-delim, len 10
	ethConfigWire,
)

// ---- enroll.proto ---------------------------------------------------------

var enrollID = []byte{0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08}

var enrollReqWire = cat(
	[]byte{0x0a, 0x08}, // field 1 (id) len-delim, len 8
	enrollID,
)

func enrollResp() *EnrollRespMsg {
	return &EnrollRespMsg{
		Id:       enrollID,
		TSec:     proto.Int64(1700000000),
		TNsec:    proto.Int32(500),
		Response: proto.Int32(0),
		Conf:     ipcpConfigUnicast(),
	}
}

var enrollRespWire = cat(
	[]byte{0x0a, 0x08}, // field 1 (id) len-delim, len 8
	enrollID,
	// field 2 (t_sec) varint 1700000000 = 0 + 0x62<<7 + 0x4f<<14 + 0x2a<<21 + 6<<28
	[]byte{0x10, 0x80, 0xe2, 0xcf, 0xaa, 0x06},
	[]byte{0x18, 0xf4, 0x03}, // field 3 (t_nsec) varint 500 = 0x74 + 3<<7
	[]byte{0x20, 0x00},       // field 4 (response) varint 0
	[]byte{0x2a, 0x40},       // field 5 (conf) len-delim, len 64
	ipcpConfigUnicastWire,
)

func enrollRespRefused() *EnrollRespMsg {
	return &EnrollRespMsg{
		Id:       enrollID,
		TSec:     proto.Int64(0),
		TNsec:    proto.Int32(0),
		Response: proto.Int32(-1),
	}
}

var enrollRespRefusedWire = cat(
	[]byte{0x0a, 0x08}, // field 1 (id) len-delim, len 8
	enrollID,
	[]byte{0x10, 0x00}, // field 2 (t_sec) varint 0
	[]byte{0x18, 0x00}, // field 3 (t_nsec) varint 0
	// field 4 (response) varint -1: int32 is sign-extended to 64 bits,
	// so ten bytes; field 5 (conf) absent.
	[]byte{0x20, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
)

var enrollAckWire = cat(
	[]byte{0x0a, 0x08}, // field 1 (id) len-delim, len 8
	enrollID,
	[]byte{0x10, 0x00}, // field 2 (result) varint 0
)

var enrollAckFailWire = cat(
	[]byte{0x0a, 0x08}, // field 1 (id) len-delim, len 8
	enrollID,
	// field 2 (result) varint -22 = 0xffffffffffffffea, ten bytes
	[]byte{0x10, 0xea, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
)

// ---- cep.proto ------------------------------------------------------------

func cepMinimal() *CepMsg {
	return &CepMsg{
		CompName:    proto.String("dt"),
		Protocol:    proto.String("dtp"),
		PrefVersion: proto.Int32(1),
		PrefSyntax:  proto.Int32(0),
		Address:     proto.Uint64(0x1234),
	}
}

var cepMinimalWire = []byte{
	0x0a, 0x02, 'd', 't', // field 1 (comp_name) len-delim, len 2
	0x12, 0x03, 'd', 't', 'p', // field 2 (protocol) len-delim, len 3
	0x18, 0x01, // field 3 (pref_version) varint 1
	0x28, 0x00, // field 5 (pref_syntax) varint 0 (GPB)
	0x40, 0xb4, 0x24, // field 8 (address) varint 0x1234 = 0x34 + 0x24<<7
}

func fixedConcSyntax() *FixedConcSyntaxMsg {
	return &FixedConcSyntaxMsg{Fids: []uint32{1, 2}, Lens: []uint32{4}}
}

var fixedConcSyntaxWire = []byte{
	0x08, 0x01, // field 1 (fids) varint 1, unpacked
	0x08, 0x02, // field 1 (fids) varint 2
	0x10, 0x04, // field 2 (lens) varint 4
} // 6 bytes

func cepFull() *CepMsg {
	m := cepMinimal()
	m.SuppVersion = []int32{1, 2}
	m.SuppSyntax = []int32{0, 2}
	m.SyntaxSpec = fixedConcSyntax()
	return m
}

var cepFullWire = cat(
	[]byte{
		0x0a, 0x02, 'd', 't', // field 1 (comp_name)
		0x12, 0x03, 'd', 't', 'p', // field 2 (protocol)
		0x18, 0x01, // field 3 (pref_version) varint 1
		0x20, 0x01, // field 4 (supp_version) varint 1, unpacked
		0x20, 0x02, // field 4 (supp_version) varint 2
		0x28, 0x00, // field 5 (pref_syntax) varint 0
		0x30, 0x00, // field 6 (supp_syntax) varint 0, unpacked
		0x30, 0x02, // field 6 (supp_syntax) varint 2
		0x3a, 0x06, // field 7 (syntax_spec) len-delim, len 6
	},
	fixedConcSyntaxWire,
	[]byte{0x40, 0xb4, 0x24}, // field 8 (address) varint 0x1234
)

// ---- dht.proto ------------------------------------------------------------

func contact(id byte, addr uint64) *DhtContactMsg {
	return &DhtContactMsg{Id: []byte{0xde, 0xad, 0xbe, id}, Addr: proto.Uint64(addr)}
}

var contactAWire = []byte{
	0x0a, 0x04, 0xde, 0xad, 0xbe, 0x01, // field 1 (id) len-delim, len 4
	0x10, 0x0a, // field 2 (addr) varint 10
} // 8 bytes

var contactBWire = []byte{
	0x0a, 0x04, 0xde, 0xad, 0xbe, 0x02, // field 1 (id) len-delim, len 4
	0x10, 0xac, 0x02, // field 2 (addr) varint 300 = 0x2c + 2<<7
} // 9 bytes

func findReq() *DhtFindReqMsg {
	return &DhtFindReqMsg{Cookie: proto.Uint64(^uint64(0)), Key: []byte{0xaa, 0xbb}}
}

var findReqWire = []byte{
	// field 1 (cookie) varint 2^64-1: nine 0xff groups and a final 0x01
	0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
	0x12, 0x02, 0xaa, 0xbb, // field 2 (key) len-delim, len 2
} // 15 bytes

func findNodeRsp() *DhtFindNodeRspMsg {
	return &DhtFindNodeRspMsg{
		Cookie:   proto.Uint64(7),
		Key:      []byte{0xaa, 0xbb},
		Contacts: []*DhtContactMsg{contact(1, 10), contact(2, 300)},
	}
}

var findNodeRspWire = cat(
	[]byte{
		0x08, 0x07, // field 1 (cookie) varint 7
		0x12, 0x02, 0xaa, 0xbb, // field 2 (key) len-delim, len 2
		0x1a, 0x08, // field 3 (contacts[0]) len-delim, len 8
	},
	contactAWire,
	[]byte{0x1a, 0x09}, // field 3 (contacts[1]) len-delim, len 9
	contactBWire,
) // 6 + 10 + 11 = 27 bytes

var (
	addrBE1 = []byte{0, 0, 0, 0, 0, 0, 0, 0x01}
	addrBE2 = []byte{0, 0, 0, 0, 0, 0, 0x01, 0x2c}
)

func findValueRsp() *DhtFindValueRspMsg {
	return &DhtFindValueRspMsg{Values: [][]byte{addrBE1, addrBE2}}
}

var findValueRspWire = cat(
	[]byte{0x0a, 0x08}, // field 1 (values[0]) len-delim, len 8
	addrBE1,
	[]byte{0x0a, 0x08}, // field 1 (values[1]) len-delim, len 8
	addrBE2,
) // 20 bytes

func store() *DhtStoreMsg {
	return &DhtStoreMsg{
		Key: []byte{0xaa, 0xbb},
		Val: addrBE1,
		Exp: proto.Uint32(1700000000),
	}
}

var storeWire = cat(
	[]byte{0x0a, 0x02, 0xaa, 0xbb}, // field 1 (key) len-delim, len 2
	[]byte{0x12, 0x08},             // field 2 (val) len-delim, len 8
	addrBE1,
	// field 3 (exp) varint 1700000000
	[]byte{0x18, 0x80, 0xe2, 0xcf, 0xaa, 0x06},
) // 4 + 10 + 6 = 20 bytes

var dhtStoreWire = cat(
	[]byte{0x08, 0x00}, // field 1 (code) varint 0 (STORE)
	[]byte{0x12, 0x08}, // field 2 (src) len-delim, len 8
	contactAWire,
	[]byte{0x1a, 0x14}, // field 3 (store) len-delim, len 20
	storeWire,
)

var dhtFindReqWire = cat(
	[]byte{0x08, 0x03}, // field 1 (code) varint 3 (FIND_VALUE_REQ)
	[]byte{0x12, 0x08}, // field 2 (src) len-delim, len 8
	contactAWire,
	[]byte{0x22, 0x0f}, // field 4 (find) len-delim, len 15
	findReqWire,
)

var dhtFindValueRspWire = cat(
	[]byte{0x08, 0x04}, // field 1 (code) varint 4 (FIND_VALUE_RSP)
	[]byte{0x12, 0x09}, // field 2 (src) len-delim, len 9
	contactBWire,
	[]byte{0x2a, 0x1b}, // field 5 (node) len-delim, len 27
	findNodeRspWire,
	[]byte{0x32, 0x14}, // field 6 (val) len-delim, len 20
	findValueRspWire,
)

// ---- tests ----------------------------------------------------------------

type golden struct {
	name string
	msg  proto.Message
	wire []byte
}

func goldens() []golden {
	return []golden{
		{"layer_info", layerInfo(), layerInfoWire},
		{"ls_config", lsConfig(), lsConfigWire},
		{"routing_config", routingConfig(), routingConfigWire},
		{"routing_config/no_ls", &RoutingConfigMsg{Pol: proto.Uint32(0)}, []byte{
			0x08, 0x00, // field 1 (pol) varint 0; field 2 absent
		}},
		{"dt_config", dtConfig(), dtConfigWire},
		{"dir_dht_config", dirDhtConfig(), dirDhtConfigWire},
		{"dir_config", dirConfig(), dirConfigWire},
		{"uni_config", uniConfig(), uniConfigWire},
		{"eth_config", ethConfig(), ethConfigWire},
		{"udp4_config", udp4Config(), udp4ConfigWire},
		{"udp6_config", udp6Config(), udp6ConfigWire},
		{"ipcp_config/unicast", ipcpConfigUnicast(), ipcpConfigUnicastWire},
		{"ipcp_config/udp4", ipcpConfigUDP4(), ipcpConfigUDP4Wire},
		{"ipcp_config/udp6", ipcpConfigUDP6(), ipcpConfigUDP6Wire},
		{"ipcp_config/eth", ipcpConfigEth(), ipcpConfigEthWire},
		{"enroll_req", &EnrollReqMsg{Id: enrollID}, enrollReqWire},
		{"enroll_req/empty_id", &EnrollReqMsg{Id: []byte{}}, []byte{
			0x0a, 0x00, // field 1 (id) len-delim, len 0: present though empty
		}},
		{"enroll_resp", enrollResp(), enrollRespWire},
		{"enroll_resp/refused", enrollRespRefused(), enrollRespRefusedWire},
		{"enroll_ack", &EnrollAckMsg{Id: enrollID, Result: proto.Int32(0)}, enrollAckWire},
		{"enroll_ack/fail", &EnrollAckMsg{Id: enrollID, Result: proto.Int32(-22)}, enrollAckFailWire},
		{"fixed_conc_syntax", fixedConcSyntax(), fixedConcSyntaxWire},
		{"fixed_conc_syntax/empty", &FixedConcSyntaxMsg{}, []byte{}},
		{"cep/minimal", cepMinimal(), cepMinimalWire},
		{"cep/full", cepFull(), cepFullWire},
		{"dht_contact", contact(1, 10), contactAWire},
		{"dht_find_req", findReq(), findReqWire},
		{"dht_find_node_rsp", findNodeRsp(), findNodeRspWire},
		{"dht_find_value_rsp", findValueRsp(), findValueRspWire},
		{"dht_store", store(), storeWire},
		{"dht_msg/store", &DhtMsg{Code: proto.Uint32(0), Src: contact(1, 10), Store: store()}, dhtStoreWire},
		{"dht_msg/find", &DhtMsg{Code: proto.Uint32(3), Src: contact(1, 10), Find: findReq()}, dhtFindReqWire},
		{"dht_msg/value_rsp", &DhtMsg{
			Code: proto.Uint32(4),
			Src:  contact(2, 300),
			Node: findNodeRsp(),
			Val:  findValueRsp(),
		}, dhtFindValueRspWire},
	}
}

func TestGoldenMarshal(t *testing.T) {
	for _, g := range goldens() {
		t.Run(g.name, func(t *testing.T) {
			got, err := proto.MarshalOptions{Deterministic: true}.Marshal(g.msg)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			if !bytes.Equal(got, g.wire) {
				t.Fatalf("Marshal mismatch\n got % x\nwant % x", got, g.wire)
			}
			if n := proto.Size(g.msg); n != len(g.wire) {
				t.Fatalf("Size = %d, want %d", n, len(g.wire))
			}
		})
	}
}

func TestGoldenUnmarshal(t *testing.T) {
	for _, g := range goldens() {
		t.Run(g.name, func(t *testing.T) {
			m := g.msg.ProtoReflect().New().Interface()
			if err := proto.Unmarshal(g.wire, m); err != nil {
				t.Fatalf("Unmarshal: %v", err)
			}
			if !proto.Equal(m, g.msg) {
				t.Fatalf("Unmarshal = %v, want %v", m, g.msg)
			}
			again, err := proto.Marshal(m)
			if err != nil {
				t.Fatalf("re-Marshal: %v", err)
			}
			if !bytes.Equal(again, g.wire) {
				t.Fatalf("re-Marshal mismatch\n got % x\nwant % x", again, g.wire)
			}
		})
	}
}

// An empty required bytes field must survive a round trip as present:
// protobuf-c sends it as a zero-length field and expects it back.
func TestEmptyRequiredBytesPresent(t *testing.T) {
	var m EnrollReqMsg
	if err := proto.Unmarshal([]byte{0x0a, 0x00}, &m); err != nil {
		t.Fatalf("Unmarshal: %v", err)
	}
	if m.Id == nil {
		t.Fatal("id decoded as absent")
	}
	out, err := proto.Marshal(&m)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	if !bytes.Equal(out, []byte{0x0a, 0x00}) {
		t.Fatalf("Marshal = % x", out)
	}
}

type missing struct {
	name string
	msg  func() proto.Message
	wire []byte // well-formed, but lacking a required field
}

func missingRequired() []missing {
	return []missing{
		{"layer_info/dir_hash_algo", func() proto.Message { return new(LayerInfoMsg) },
			[]byte{0x0a, 0x02, 'l', 'y'}},
		{"layer_info/name", func() proto.Message { return new(LayerInfoMsg) },
			[]byte{0x10, 0x03}},
		{"ls_config/t_timeo", func() proto.Message { return new(LsConfigMsg) },
			lsConfigWire[:6]},
		{"routing_config/pol", func() proto.Message { return new(RoutingConfigMsg) },
			routingConfigWire[2:]},
		{"routing_config/ls.pol", func() proto.Message { return new(RoutingConfigMsg) },
			cat([]byte{0x08, 0x00, 0x12, 0x06}, lsConfigWire[2:])},
		{"dt_config/routing", func() proto.Message { return new(DtConfigMsg) },
			dtConfigWire[:6]},
		{"dir_dht_config/peer", func() proto.Message { return new(DirDhtConfigMsg) },
			dirDhtConfigWire[:14]},
		{"dir_config/pol", func() proto.Message { return new(DirConfigMsg) },
			dirConfigWire[2:]},
		{"uni_config/dir", func() proto.Message { return new(UniConfigMsg) },
			cat([]byte{0x0a, 0x14}, dtConfigWire, []byte{0x18, 0x00, 0x20, 0x01})},
		{"uni_config/cong_avoid", func() proto.Message { return new(UniConfigMsg) },
			uniConfigWire[:len(uniConfigWire)-2]},
		{"eth_config/ethertype", func() proto.Message { return new(EthConfigMsg) },
			ethConfigWire[:6]},
		{"udp4_config/dns_addr", func() proto.Message { return new(Udp4ConfigMsg) },
			udp4ConfigWire[:8]},
		{"udp6_config/dns_addr", func() proto.Message { return new(Udp6ConfigMsg) },
			udp6ConfigWire[:21]},
		{"ipcp_config/layer_info", func() proto.Message { return new(IpcpConfigMsg) },
			[]byte{0x10, 0x05}},
		{"ipcp_config/ipcp_type", func() proto.Message { return new(IpcpConfigMsg) },
			cat([]byte{0x0a, 0x06}, layerInfoWire)},
		{"ipcp_config/udp4.port", func() proto.Message { return new(IpcpConfigMsg) },
			cat([]byte{0x0a, 0x06}, layerInfoWire, []byte{0x10, 0x05, 0x22, 0x07},
				udp4ConfigWire[:5], udp4ConfigWire[8:])},
		{"enroll_req/id", func() proto.Message { return new(EnrollReqMsg) },
			[]byte{}},
		{"enroll_resp/response", func() proto.Message { return new(EnrollRespMsg) },
			enrollRespRefusedWire[:14]},
		{"enroll_resp/conf.unicast.dir.dht.peer", func() proto.Message { return new(EnrollRespMsg) },
			// Same as enrollRespWire but the innermost peer field dropped,
			// every enclosing length shrunk by its 6 bytes.
			cat(enrollRespWire[:21], []byte{0x2a, 0x3a},
				[]byte{0x0a, 0x06}, layerInfoWire,
				[]byte{0x10, 0x01, 0x1a, 0x2e},
				[]byte{0x0a, 0x14}, dtConfigWire,
				[]byte{0x12, 0x12, 0x08, 0x00, 0x12, 0x0e}, dirDhtConfigWire[:14],
				[]byte{0x18, 0x00, 0x20, 0x01})},
		{"enroll_ack/result", func() proto.Message { return new(EnrollAckMsg) },
			enrollAckWire[:10]},
		{"cep/address", func() proto.Message { return new(CepMsg) },
			cepMinimalWire[:13]},
		{"cep/pref_syntax", func() proto.Message { return new(CepMsg) },
			cat(cepMinimalWire[:11], cepMinimalWire[13:])},
		{"dht_contact/addr", func() proto.Message { return new(DhtContactMsg) },
			contactAWire[:6]},
		{"dht_find_req/key", func() proto.Message { return new(DhtFindReqMsg) },
			findReqWire[:11]},
		{"dht_find_node_rsp/cookie", func() proto.Message { return new(DhtFindNodeRspMsg) },
			findNodeRspWire[2:]},
		{"dht_find_node_rsp/contacts[1].addr", func() proto.Message { return new(DhtFindNodeRspMsg) },
			cat(findNodeRspWire[:16], []byte{0x1a, 0x06}, contactBWire[:6])},
		{"dht_store/exp", func() proto.Message { return new(DhtStoreMsg) },
			storeWire[:14]},
		{"dht_msg/src", func() proto.Message { return new(DhtMsg) },
			[]byte{0x08, 0x00}},
		{"dht_msg/code", func() proto.Message { return new(DhtMsg) },
			dhtStoreWire[2:]},
		{"dht_msg/src.id", func() proto.Message { return new(DhtMsg) },
			[]byte{0x08, 0x01, 0x12, 0x02, 0x10, 0x0a}},
		{"dht_msg/store.val", func() proto.Message { return new(DhtMsg) },
			cat(dhtStoreWire[:12], []byte{0x1a, 0x0a}, storeWire[:4], storeWire[14:])},
	}
}

func TestMissingRequiredUnmarshal(t *testing.T) {
	for _, c := range missingRequired() {
		t.Run(c.name, func(t *testing.T) {
			// The bytes are otherwise valid: a partial decode succeeds.
			if err := (proto.UnmarshalOptions{AllowPartial: true}).Unmarshal(c.wire, c.msg()); err != nil {
				t.Fatalf("partial Unmarshal: %v", err)
			}
			m := c.msg()
			err := proto.Unmarshal(c.wire, m)
			if err == nil {
				t.Fatalf("Unmarshal accepted % x", c.wire)
			}
			// The error names the first unset required field; it must be
			// the one this case leaves out.
			field := c.name[strings.LastIndexAny(c.name, "/.")+1:]
			if !strings.Contains(err.Error(), "."+field+" not set") {
				t.Fatalf("Unmarshal error %q does not name %q", err, field)
			}
			if err := proto.CheckInitialized(m); err == nil {
				t.Fatalf("CheckInitialized passed after failed Unmarshal")
			}
		})
	}
}

func TestMissingRequiredMarshal(t *testing.T) {
	cases := map[string]proto.Message{
		"layer_info":            &LayerInfoMsg{Name: proto.String("ly")},
		"ipcp_config/unicast":   &IpcpConfigMsg{LayerInfo: layerInfo(), IpcpType: proto.Uint32(1), Unicast: &UniConfigMsg{}},
		"enroll_resp/conf":      &EnrollRespMsg{Id: enrollID, TSec: proto.Int64(0), TNsec: proto.Int32(0), Response: proto.Int32(0), Conf: &IpcpConfigMsg{}},
		"enroll_ack":            &EnrollAckMsg{Result: proto.Int32(0)},
		"cep":                   &CepMsg{CompName: proto.String("dt")},
		"dht_msg/src":           &DhtMsg{Code: proto.Uint32(1)},
		"dht_msg/node.contacts": &DhtMsg{Code: proto.Uint32(2), Src: contact(1, 10), Node: &DhtFindNodeRspMsg{Cookie: proto.Uint64(1), Key: []byte{1}, Contacts: []*DhtContactMsg{{Id: []byte{1}}}}},
	}
	for name, m := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := proto.Marshal(m); err == nil {
				t.Fatal("Marshal accepted a message lacking a required field")
			}
		})
	}
}

// Unknown fields (a newer peer) are kept and do not break decoding.
func TestUnknownFieldTolerated(t *testing.T) {
	wire := cat(enrollAckWire, []byte{0x78, 0x01}) // field 15 varint 1
	var m EnrollAckMsg
	if err := proto.Unmarshal(wire, &m); err != nil {
		t.Fatalf("Unmarshal: %v", err)
	}
	if !bytes.Equal(m.GetId(), enrollID) || m.GetResult() != 0 {
		t.Fatalf("decoded %v", &m)
	}
}
