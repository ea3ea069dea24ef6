package pb

import (
	"fmt"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// TestSchema pins every field's number, label and type to the reference
// (spec SYSTEM §10.1, §10.4, §10.5), so an edit of a .proto file that would
// change the wire fails here even without a golden vector for it.
// Each entry is "number label type name"; R/O/* = required/optional/repeated.
func TestSchema(t *testing.T) {
	want := map[proto.Message][]string{
		&LayerInfoMsg{}: {"1 R string name", "2 R uint32 dir_hash_algo"},
		&LsConfigMsg{}: {"1 R uint32 pol", "2 R uint32 t_recalc", "3 R uint32 t_update",
			"4 R uint32 t_timeo"},
		&RoutingConfigMsg{}: {"1 R uint32 pol", "2 O ls_config_msg ls"},
		&DtConfigMsg{}: {"1 R uint32 addr_size", "2 R uint32 eid_size", "3 R uint32 max_ttl",
			"4 R routing_config_msg routing"},
		&DirDhtConfigMsg{}: {"1 R uint32 alpha", "2 R uint32 k", "3 R uint32 t_expire",
			"4 R uint32 t_refresh", "5 R uint32 t_replicate", "6 R uint64 peer"},
		&DirConfigMsg{}: {"1 R uint32 pol", "2 O dir_dht_config_msg dht"},
		&UniConfigMsg{}: {"1 R dt_config_msg dt", "2 R dir_config_msg dir",
			"3 R uint32 addr_auth_type", "4 R uint32 cong_avoid"},
		&EthConfigMsg{}:  {"1 R string dev", "2 R uint32 ethertype"},
		&Udp4ConfigMsg{}: {"1 R uint32 ip_addr", "2 R uint32 port", "3 R uint32 dns_addr"},
		&Udp6ConfigMsg{}: {"1 R bytes ip_addr", "2 R uint32 port", "3 R bytes dns_addr"},
		&IpcpConfigMsg{}: {"1 R layer_info_msg layer_info", "2 R uint32 ipcp_type",
			"3 O uni_config_msg unicast", "4 O udp4_config_msg udp4",
			"5 O udp6_config_msg udp6", "6 O eth_config_msg eth"},
		&EnrollReqMsg{}: {"1 R bytes id"},
		&EnrollRespMsg{}: {"1 R bytes id", "2 R int64 t_sec", "3 R int32 t_nsec",
			"4 R int32 response", "5 O ipcp_config_msg conf"},
		&EnrollAckMsg{}:       {"1 R bytes id", "2 R int32 result"},
		&FixedConcSyntaxMsg{}: {"1 * uint32 fids", "2 * uint32 lens"},
		&CepMsg{}: {"1 R string comp_name", "2 R string protocol", "3 R int32 pref_version",
			"4 * int32 supp_version", "5 R int32 pref_syntax", "6 * int32 supp_syntax",
			"7 O fixed_conc_syntax_msg syntax_spec", "8 R uint64 address"},
		&DhtContactMsg{}: {"1 R bytes id", "2 R uint64 addr"},
		&DhtFindReqMsg{}: {"1 R uint64 cookie", "2 R bytes key"},
		&DhtFindNodeRspMsg{}: {"1 R uint64 cookie", "2 R bytes key",
			"3 * dht_contact_msg contacts"},
		&DhtFindValueRspMsg{}: {"1 * bytes values"},
		&DhtStoreMsg{}:        {"1 R bytes key", "2 R bytes val", "3 R uint32 exp"},
		&DhtMsg{}: {"1 R uint32 code", "2 R dht_contact_msg src", "3 O dht_store_msg store",
			"4 O dht_find_req_msg find", "5 O dht_find_node_rsp_msg node",
			"6 O dht_find_value_rsp_msg val"},
	}
	for m, fields := range want {
		md := m.ProtoReflect().Descriptor()
		t.Run(string(md.Name()), func(t *testing.T) {
			if md.ParentFile().Syntax() != protoreflect.Proto2 {
				t.Fatalf("syntax %v, want proto2", md.ParentFile().Syntax())
			}
			var got []string
			fds := md.Fields()
			for i := 0; i < fds.Len(); i++ {
				fd := fds.Get(i)
				label := map[protoreflect.Cardinality]string{
					protoreflect.Required: "R", protoreflect.Optional: "O",
					protoreflect.Repeated: "*",
				}[fd.Cardinality()]
				typ := fd.Kind().String()
				if fd.Kind() == protoreflect.MessageKind {
					typ = string(fd.Message().Name())
				}
				if fd.IsPacked() {
					t.Errorf("field %s is packed; the reference sends it unpacked", fd.Name())
				}
				if fd.HasDefault() {
					t.Errorf("field %s has a default; the reference has none", fd.Name())
				}
				got = append(got, fmt.Sprintf("%d %s %s %s", fd.Number(), label, typ, fd.Name()))
			}
			if strings.Join(got, "\n") != strings.Join(fields, "\n") {
				t.Fatalf("fields\n got %q\nwant %q", got, fields)
			}
		})
	}
}
