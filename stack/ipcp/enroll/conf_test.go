package enroll

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/stack/ipcp/pb"
)

func confEqual(a, b Conf) bool {
	if a.Layer != b.Layer || a.Type != b.Type || (a.Unicast == nil) != (b.Unicast == nil) {
		return false
	}
	return a.Unicast == nil || *a.Unicast == *b.Unicast
}

func confString(c Conf) string {
	if c.Unicast == nil {
		return fmt.Sprintf("{%+v %v <nil>}", c.Layer, c.Type)
	}
	return fmt.Sprintf("{%+v %v %+v}", c.Layer, c.Type, *c.Unicast)
}

// filled sets every field of a UnicastConfig, found by reflection so that a
// field added later is covered too, to a distinct non-zero value that the
// wire can carry (durations in whole seconds).
func filled(t *testing.T, seed int) ipcp.UnicastConfig {
	var u ipcp.UnicastConfig
	v := reflect.ValueOf(&u).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		n := seed + i + 1
		switch {
		case f.Type() == reflect.TypeFor[time.Duration]():
			f.SetInt(int64(time.Duration(1000*n+7) * time.Second))
		case f.Kind() == reflect.Uint8:
			f.SetUint(uint64(n))
		case f.Kind() == reflect.Uint32:
			f.SetUint(uint64(100000 + n))
		case f.Kind() == reflect.Uint64:
			f.SetUint(0xfedcba9876543210 + uint64(n))
		default:
			t.Fatalf("UnicastConfig.%s: kind %v not covered by the test", v.Type().Field(i).Name, f.Kind())
		}
	}
	return u
}

func TestConfRoundTrip(t *testing.T) {
	for seed := range 3 {
		u := filled(t, 10*seed)
		for _, c := range []Conf{
			{Layer: ipcp.Layer{Name: "layer", Hash: ipcp.SHA3_224}, Type: ipcp.Unicast, Unicast: &u},
			{Layer: ipcp.Layer{Name: string(make([]byte, 255)) + "x", Hash: ipcp.SHA3_384}, Type: ipcp.Unicast, Unicast: &u},
			{Layer: ipcp.Layer{Name: "b", Hash: ipcp.SHA3_512}, Type: ipcp.Broadcast},
		} {
			b := marshal(t, ConfMsg(c)) // also: every required field is set
			var m pb.IpcpConfigMsg
			if err := proto.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			got, err := ConfFromMsg(&m)
			if err != nil {
				t.Fatal(err)
			}
			if !confEqual(got, c) {
				t.Errorf("round trip\n got %s\nwant %s", confString(got), confString(c))
			}
		}
	}
}

func TestConfRoundTripTypesAndHashes(t *testing.T) {
	for typ := ipcp.Local; typ <= ipcp.UDP6; typ++ {
		for _, h := range []ipcp.HashAlgo{ipcp.SHA3_224, ipcp.SHA3_256, ipcp.SHA3_384, ipcp.SHA3_512} {
			c := Conf{Layer: ipcp.Layer{Name: "l", Hash: h}, Type: typ}
			got, err := ConfFromMsg(ConfMsg(c))
			if err != nil || !confEqual(got, c) {
				t.Errorf("%v/%v: %s, %v", typ, h, confString(got), err)
			}
		}
	}
}

// TestConfMsgMatchesReferenceShape checks ConfMsg field by field against
// what the reference's ipcp_config_s_to_msg produces.
func TestConfMsgMatchesReferenceShape(t *testing.T) {
	m := ConfMsg(defaultConf())
	if m.Udp4 != nil || m.Udp6 != nil || m.Eth != nil {
		t.Errorf("shim parts set: %v", m)
	}
	u := m.GetUnicast()
	if u == nil || u.GetDt().GetRouting().GetLs() == nil || u.GetDir().GetDht() == nil {
		t.Fatalf("unicast part incomplete: %v", m)
	}
	if u.GetDt().GetRouting().GetPol() != 0 || u.GetDir().GetPol() != 0 {
		t.Errorf("policies %d/%d, want link state 0 / DHT 0", u.GetDt().GetRouting().GetPol(), u.GetDir().GetPol())
	}
	if ConfMsg(broadcastConf()).Unicast != nil {
		t.Error("broadcast configuration carries a unicast part")
	}
}

func TestConfFromMsgRejects(t *testing.T) {
	li := func(name string, h uint32) *pb.LayerInfoMsg {
		return &pb.LayerInfoMsg{Name: proto.String(name), DirHashAlgo: proto.Uint32(h)}
	}
	for name, m := range map[string]*pb.IpcpConfigMsg{
		"nil":           nil,
		"no layer info": {IpcpType: proto.Uint32(1)},
		"no name":       {LayerInfo: li("", 1), IpcpType: proto.Uint32(1)},
		"hash 6":        {LayerInfo: li("l", 6), IpcpType: proto.Uint32(1)},
		"hash 255":      {LayerInfo: li("l", 255), IpcpType: proto.Uint32(1)},
	} {
		if _, err := ConfFromMsg(m); !errors.Is(err, ErrMsg) {
			t.Errorf("%s: ConfFromMsg = %v, want ErrMsg", name, err)
		}
	}
}

// TestConfFromMsgPartialUnicast: a unicast part with sub-messages missing
// (only possible with a non-conforming sender) decodes to zeros, no panic.
func TestConfFromMsgPartialUnicast(t *testing.T) {
	m := &pb.IpcpConfigMsg{
		LayerInfo: &pb.LayerInfoMsg{Name: proto.String("l"), DirHashAlgo: proto.Uint32(1)},
		IpcpType:  proto.Uint32(1),
		Unicast:   &pb.UniConfigMsg{Dt: &pb.DtConfigMsg{AddrSize: proto.Uint32(4)}},
	}
	c, err := ConfFromMsg(m)
	if err != nil {
		t.Fatal(err)
	}
	if c.Unicast == nil || c.Unicast.AddrSize != 4 || c.Unicast.DHTK != 0 || c.Unicast.TRecalc != 0 {
		t.Errorf("ConfFromMsg = %s", confString(c))
	}
}

// TestConfFromMsgClampsSmallFields: fields held in a uint8 saturate rather
// than wrap.
func TestConfFromMsgClampsSmallFields(t *testing.T) {
	m := ConfMsg(defaultConf())
	m.Unicast.Dt.AddrSize = proto.Uint32(260)
	m.Unicast.Dt.MaxTtl = proto.Uint32(1 << 20)
	c, err := ConfFromMsg(m)
	if err != nil {
		t.Fatal(err)
	}
	if c.Unicast.AddrSize != 255 || c.Unicast.MaxTTL != 255 {
		t.Errorf("addr_size %d, max_ttl %d; want 255, 255", c.Unicast.AddrSize, c.Unicast.MaxTTL)
	}
}
