// Package enroll is the enrollment protocol (OEP) of the unicast and
// broadcast IPCPs (spec SYSTEM §8.5, §14.3): over a flow to the enroller's
// Enrollment component the enrollee sends enroll_req_msg {id}, the
// enroller answers enroll_resp_msg {id, its clock, response, conf} with the
// layer's configuration, and the enrollee, once it has started its
// components, sends enroll_ack_msg {id, result}.
package enroll

import (
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/stack/ipcp/pb"
)

// Protocol constants.
const (
	IDLen     = 8    // the enrollment id, random bytes chosen by the enrollee
	BufLen    = 1024 // the reference's message buffer
	Timeout   = 10 * time.Second
	NoAck     = -100 // the enroller's result when no ack arrives
	ClockWarn = 20 * time.Millisecond
)

// Conn is the enrollment flow.
type Conn interface {
	Read(b []byte) (int, error)
	Write(b []byte) error
	SetReadDeadline(t time.Time) error
}

// Conf is what an enrollee learns: the layer, the IPCP type, and for a
// unicast layer its configuration.
type Conf struct {
	Layer   ipcp.Layer
	Type    ipcp.Type
	Unicast *ipcp.UnicastConfig
}

// Errors of the exchange.
var (
	ErrID     = errors.New("enroll: enrollment id mismatch")
	ErrDenied = errors.New("enroll: the enroller refused")
	ErrType   = errors.New("enroll: the layer is of another IPCP type")
	ErrMsg    = errors.New("enroll: malformed message")
)

func secs(d time.Duration) uint32 { return uint32(d / time.Second) }
func dur(s uint32) time.Duration  { return time.Duration(s) * time.Second }

// ConfMsg encodes c as the reference's ipcp_config_msg.
func ConfMsg(c Conf) *pb.IpcpConfigMsg {
	m := &pb.IpcpConfigMsg{
		LayerInfo: &pb.LayerInfoMsg{Name: proto.String(c.Layer.Name), DirHashAlgo: proto.Uint32(uint32(c.Layer.Hash))},
		IpcpType:  proto.Uint32(uint32(c.Type)),
	}
	if u := c.Unicast; u != nil {
		m.Unicast = &pb.UniConfigMsg{
			Dt: &pb.DtConfigMsg{
				AddrSize: proto.Uint32(uint32(u.AddrSize)), EidSize: proto.Uint32(uint32(u.EIDSize)), MaxTtl: proto.Uint32(uint32(u.MaxTTL)),
				Routing: &pb.RoutingConfigMsg{Pol: proto.Uint32(0), Ls: &pb.LsConfigMsg{
					Pol: proto.Uint32(uint32(u.Routing)), TRecalc: proto.Uint32(secs(u.TRecalc)),
					TUpdate: proto.Uint32(secs(u.TUpdate)), TTimeo: proto.Uint32(secs(u.TTimeo)),
				}},
			},
			Dir: &pb.DirConfigMsg{Pol: proto.Uint32(uint32(u.Dir)), Dht: &pb.DirDhtConfigMsg{
				Alpha: proto.Uint32(u.DHTAlpha), K: proto.Uint32(u.DHTK), TExpire: proto.Uint32(secs(u.TExpire)),
				TRefresh: proto.Uint32(secs(u.TRefresh)), TReplicate: proto.Uint32(secs(u.TReplicate)), Peer: proto.Uint64(u.DHTPeer),
			}},
			AddrAuthType: proto.Uint32(uint32(u.AddrAuth)),
			CongAvoid:    proto.Uint32(uint32(u.Cong)),
		}
	}
	return m
}

// ConfFromMsg decodes an ipcp_config_msg.
func ConfFromMsg(m *pb.IpcpConfigMsg) (Conf, error) {
	c := Conf{Layer: ipcp.Layer{Name: m.GetLayerInfo().GetName(), Hash: ipcp.HashAlgo(m.GetLayerInfo().GetDirHashAlgo())}, Type: ipcp.Type(m.GetIpcpType())}
	if m.GetIpcpType() > 255 {
		return c, fmt.Errorf("%w: IPCP type %d", ErrType, m.GetIpcpType())
	}
	if m.GetLayerInfo().GetDirHashAlgo() > uint32(ipcp.SHA3_512) {
		return c, fmt.Errorf("%w: hash algorithm %d", ErrMsg, m.GetLayerInfo().GetDirHashAlgo())
	}
	if c.Layer.Name == "" || c.Layer.Hash.Len() == 0 {
		return c, fmt.Errorf("%w: configuration without a layer name or with hash algorithm %d", ErrMsg, m.GetLayerInfo().GetDirHashAlgo())
	}
	if u := m.GetUnicast(); u != nil {
		small := func(v uint32) uint8 { return uint8(min(v, 255)) }
		ls := u.GetDt().GetRouting().GetLs()
		dht := u.GetDir().GetDht()
		c.Unicast = &ipcp.UnicastConfig{
			AddrSize: small(u.GetDt().GetAddrSize()), EIDSize: small(u.GetDt().GetEidSize()), MaxTTL: small(u.GetDt().GetMaxTtl()),
			AddrAuth: ipcp.AddrAuth(small(u.GetAddrAuthType())), Routing: ipcp.Routing(small(ls.GetPol())),
			TRecalc: dur(ls.GetTRecalc()), TUpdate: dur(ls.GetTUpdate()), TTimeo: dur(ls.GetTTimeo()),
			Dir: ipcp.Directory(small(u.GetDir().GetPol())), DHTAlpha: dht.GetAlpha(), DHTK: dht.GetK(),
			TExpire: dur(dht.GetTExpire()), TRefresh: dur(dht.GetTRefresh()), TReplicate: dur(dht.GetTReplicate()),
			DHTPeer: dht.GetPeer(), Cong: ipcp.Congestion(small(u.GetCongAvoid())),
		}
	}
	return c, nil
}

func recv(c Conn, buf []byte) ([]byte, error) {
	c.SetReadDeadline(time.Now().Add(Timeout))
	n, err := c.Read(buf)
	if err != nil {
		return nil, err
	}
	if n > len(buf) { // the rest is lost: it cannot parse
		return nil, fmt.Errorf("%w: %d bytes, more than %d", ErrMsg, n, len(buf))
	}
	return buf[:n], nil
}

// Request runs the enrollee's first half: it sends the request and returns
// the configuration, the id (for Ack) and the clock offset estimate.
func Request(c Conn, want ipcp.Type) (Conf, []byte, time.Duration, error) {
	id := make([]byte, IDLen)
	rand.Read(id)
	req, _ := proto.Marshal(&pb.EnrollReqMsg{Id: id})
	t0 := time.Now()
	if err := c.Write(req); err != nil {
		return Conf{}, nil, 0, fmt.Errorf("enroll: send request: %w", err)
	}
	b, err := recv(c, make([]byte, BufLen))
	if err != nil {
		return Conf{}, nil, 0, fmt.Errorf("enroll: no reply from the enroller within %v: %w", Timeout, err)
	}
	rtt := time.Since(t0)
	var resp pb.EnrollRespMsg
	if err := proto.Unmarshal(b, &resp); err != nil {
		return Conf{}, nil, 0, fmt.Errorf("%w: %w", ErrMsg, err)
	}
	if string(resp.GetId()) != string(id) {
		return Conf{}, nil, 0, ErrID
	}
	if resp.GetResponse() < 0 {
		return Conf{}, nil, 0, fmt.Errorf("%w: response %d", ErrDenied, resp.GetResponse())
	}
	conf, err := ConfFromMsg(resp.GetConf())
	if err != nil {
		return Conf{}, nil, 0, err
	}
	if conf.Type != want {
		return Conf{}, nil, 0, fmt.Errorf("%w: %v, not %v", ErrType, conf.Type, want)
	}
	remote := time.Unix(resp.GetTSec(), int64(resp.GetTNsec()))
	off := remote.Sub(t0)
	if off < 0 {
		off = -off
	}
	return conf, id, off - rtt, nil
}

// Ack sends the enrollee's result (0: success).
func Ack(c Conn, id []byte, result int32) error {
	b, _ := proto.Marshal(&pb.EnrollAckMsg{Id: id, Result: proto.Int32(result)})
	return c.Write(b)
}

// Serve runs the enroller's side on an accepted Enrollment flow: read the
// request, answer with conf, and wait for the ack. It returns the
// enrollee's result (NoAck when none came).
func Serve(c Conn, conf Conf) (int32, error) {
	buf := make([]byte, BufLen)
	b, err := recv(c, buf)
	if err != nil {
		return NoAck, fmt.Errorf("enroll: no request: %w", err)
	}
	var req pb.EnrollReqMsg
	if err := proto.Unmarshal(b, &req); err != nil {
		return NoAck, fmt.Errorf("%w: %w", ErrMsg, err)
	}
	if len(req.GetId()) != IDLen {
		return NoAck, fmt.Errorf("%w: an id of %d bytes, not %d", ErrMsg, len(req.GetId()), IDLen)
	}
	now := time.Now()
	resp, _ := proto.Marshal(&pb.EnrollRespMsg{Id: req.Id, TSec: proto.Int64(now.Unix()), TNsec: proto.Int32(int32(now.Nanosecond())),
		Response: proto.Int32(0), Conf: ConfMsg(conf)})
	if err := c.Write(resp); err != nil {
		return NoAck, fmt.Errorf("enroll: send response: %w", err)
	}
	if b, err = recv(c, buf); err != nil {
		return NoAck, fmt.Errorf("enroll: no acknowledgement: %w", err)
	}
	var ack pb.EnrollAckMsg
	if err := proto.Unmarshal(b, &ack); err != nil {
		return NoAck, fmt.Errorf("%w: %w", ErrMsg, err)
	}
	if string(ack.GetId()) != string(req.GetId()) {
		return ack.GetResult(), ErrID
	}
	return ack.GetResult(), nil
}
