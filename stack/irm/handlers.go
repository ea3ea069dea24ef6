package irm

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"time"

	"github.com/o7s/ouroboros/stack/ctl"
	"github.com/o7s/ouroboros/stack/errs"
	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/stack/qos"
)

func flowMsg(fi FlowInfo) *ctl.FlowInfo {
	return &ctl.FlowInfo{Id: uint32(fi.ID), NPid: uint32(fi.NPid), N_1Pid: uint32(fi.N1Pid), Mpl: uint32(fi.MPL / time.Millisecond),
		State: uint32(fi.State), Qos: ctl.QoSToMsg(fi.QoS), Direct: fi.Direct, Name: fi.Name, Layer: fi.Layer}
}

func timeoutOf(m *ctl.Msg) time.Duration {
	return time.Duration(min(m.GetTimeoutNs(), uint64(1<<62)))
}

// handle serves one request from the process cred. It returns the reply,
// the descriptor to attach to it, and what to undo if the reply cannot be
// delivered.
func (n *Node) handle(ctx context.Context, cred ctl.Cred, m *ctl.Msg) (*ctl.Msg, *os.File, func()) {
	var err error
	reply := &ctl.Msg{Code: ctl.Code_REPLY}
	switch m.GetCode() {
	case ctl.Code_FLOW_ALLOC, ctl.Code_FLOW_ACCEPT, ctl.Code_FLOW_JOIN:
		var fi FlowInfo
		var f *os.File
		switch m.GetCode() {
		case ctl.Code_FLOW_ALLOC:
			fi, f, err = n.Alloc(ctx, cred.PID, m.GetDst(), ctl.QoSFromMsg(m.GetFlow().GetQos()), timeoutOf(m))
		case ctl.Code_FLOW_JOIN:
			fi, f, err = n.Join(ctx, cred.PID, m.GetDst(), timeoutOf(m))
		default:
			fi, f, err = n.Accept(ctx, cred.PID, timeoutOf(m))
		}
		if err != nil {
			return ctl.Reply(err), nil, nil
		}
		reply.Flow = flowMsg(fi)
		return reply, f, func() { n.Dealloc(cred.PID, fi.ID) }
	case ctl.Code_FLOW_DEALLOC:
		err = n.Dealloc(cred.PID, int(m.GetFlow().GetId()))
	case ctl.Code_LIST_FLOWS:
		for _, fi := range n.Flows() {
			reply.Flows = append(reply.Flows, flowMsg(fi))
		}
	case ctl.Code_CREATE_IPCP:
		var id uint32
		if t := m.GetIpcp().GetType(); t > uint32(ipcp.UDP6) {
			err = fmt.Errorf("%w: type %d", errs.ErrIPCPType, t)
		} else {
			id, err = n.CreateIPCP(m.GetIpcp().GetName(), ipcp.Type(t))
			reply.Ipcp = &ctl.IPCPInfo{Id: id}
		}
	case ctl.Code_DESTROY_IPCP:
		err = n.DestroyIPCP(m.GetIpcp().GetId())
	case ctl.Code_BOOTSTRAP_IPCP:
		var conf ipcp.Config
		if conf, err = confFromMsg(m.GetConf()); err == nil {
			err = n.BootstrapIPCP(ctx, m.GetIpcp().GetId(), conf)
		}
	case ctl.Code_ENROLL_IPCP:
		err = n.EnrollIPCP(ctx, m.GetIpcp().GetId(), m.GetDst())
	case ctl.Code_CONNECT_IPCP:
		qs := qos.Raw
		if m.GetQos() != nil {
			qs = ctl.QoSFromMsg(m.GetQos())
		}
		err = n.ConnectIPCP(ctx, m.GetIpcp().GetId(), m.GetDst(), m.GetComp(), qs)
	case ctl.Code_DISCONNECT_IPCP:
		err = n.DisconnectIPCP(m.GetIpcp().GetId(), m.GetDst(), m.GetComp())
	case ctl.Code_BIND_IPCP:
		err = n.BindIPCP(m.GetIpcp().GetId(), m.GetName())
	case ctl.Code_UNBIND_IPCP:
		err = n.UnbindIPCP(m.GetIpcp().GetId(), m.GetName())
	case ctl.Code_IPCP_INFO:
		var info ipcp.Info
		var named []string
		if info, named, err = n.IPCPDetail(m.GetIpcp().GetId()); err == nil {
			reply.IpcpDetail = detailMsg(info, named)
		}
	case ctl.Code_LIST_IPCPS:
		for _, e := range n.ListIPCPs() {
			reply.Ipcps = append(reply.Ipcps, &ctl.IPCPInfo{Id: e.ID, Type: uint32(e.Type), Name: e.Name, Layer: e.Layer, HashAlgo: uint32(e.Hash), State: uint32(e.State)})
		}
	case ctl.Code_REG_NAME:
		err = n.RegName(m.GetName(), m.GetIpcp().GetId())
	case ctl.Code_UNREG_NAME:
		err = n.UnregName(m.GetName(), m.GetIpcp().GetId())
	case ctl.Code_CREATE_NAME:
		err = n.CreateName(m.GetNameInfo().GetName(), LB(m.GetNameInfo().GetPolLb()))
	case ctl.Code_DESTROY_NAME:
		err = n.DestroyName(m.GetName())
	case ctl.Code_LIST_NAMES:
		for _, e := range n.ListNames() {
			reply.Names = append(reply.Names, &ctl.NameInfo{Name: e.Name, PolLb: uint32(e.LB)})
		}
	case ctl.Code_BIND_PROGRAM:
		err = n.BindProgram(m.GetExec(), m.GetName(), m.GetOpts()&BindAuto != 0)
	case ctl.Code_UNBIND_PROGRAM:
		err = n.UnbindProgram(m.GetProg(), m.GetName())
	case ctl.Code_BIND_PROCESS:
		err = n.BindProcess(int(m.GetPid()), m.GetName())
	case ctl.Code_UNBIND_PROCESS:
		err = n.UnbindProcess(int(m.GetPid()), m.GetName())
	default:
		err = fmt.Errorf("%w: %v is not a request", errors.ErrUnsupported, m.GetCode())
	}
	if err != nil {
		return ctl.Reply(err), nil, nil
	}
	return reply, nil, nil
}

// confFromMsg converts a bootstrap configuration. Static directory entries
// name hosts; the IPCP gets their MD5 hashes (UDP layers hash with MD5).
func confFromMsg(c *ctl.IPCPConfig) (ipcp.Config, error) {
	conf := ipcp.Config{Layer: c.GetLayer(), Hash: ipcp.HashAlgo(c.GetHashAlgo())}
	if e := c.GetEth(); e != nil {
		if e.GetEthertype() > 0xFFFF {
			return conf, fmt.Errorf("%w: ethertype %#x does not fit 16 bits", errs.ErrInvalid, e.GetEthertype())
		}
		conf.Eth = &ipcp.EthConfig{Dev: e.GetDev(), Ethertype: uint16(e.GetEthertype())}
	}
	if u := c.GetUnicast(); u != nil {
		sec := func(v uint32) time.Duration { return time.Duration(v) * time.Second }
		small := func(v uint32) uint8 { return uint8(min(v, 255)) }
		conf.Unicast = &ipcp.UnicastConfig{
			AddrSize: small(u.GetAddrSize()), EIDSize: small(u.GetEidSize()), MaxTTL: small(u.GetMaxTtl()),
			AddrAuth: small(u.GetAddrAuth()), Routing: small(u.GetRouting()),
			TRecalc: sec(u.GetTRecalc()), TUpdate: sec(u.GetTUpdate()), TTimeo: sec(u.GetTTimeo()),
			Dir: small(u.GetDirectory()), DHTAlpha: u.GetDhtAlpha(), DHTK: u.GetDhtK(),
			TExpire: sec(u.GetDhtTExpire()), TRefresh: sec(u.GetDhtTRefresh()), TReplicate: sec(u.GetDhtTReplicate()),
			Cong: ipcp.CongMBECN,
		}
		if u.GetMaxTtl() > 255 {
			return conf, fmt.Errorf("%w: ttl %d does not fit 8 bits", errs.ErrInvalid, u.GetMaxTtl())
		}
		if u.GetCongSet() {
			conf.Unicast.Cong = small(u.GetCongestion())
		}
	}
	if u := c.GetUdp(); u != nil {
		if u.GetPort() > 0xFFFF {
			return conf, fmt.Errorf("%w: port %d", errs.ErrInvalid, u.GetPort())
		}
		conf.UDP = &ipcp.UDPConfig{Port: uint16(u.GetPort())}
		var err error
		if conf.UDP.Addr, err = netip.ParseAddr(u.GetAddr()); err != nil {
			return conf, fmt.Errorf("%w: ip %q: %w", errs.ErrInvalid, u.GetAddr(), err)
		}
		if u.GetDns() != "" {
			if conf.UDP.DNS, err = netip.ParseAddr(u.GetDns()); err != nil {
				return conf, fmt.Errorf("%w: dns %q: %w", errs.ErrInvalid, u.GetDns(), err)
			}
		}
		for name, a := range u.GetStatic() {
			addr, err := netip.ParseAddr(a)
			if err != nil {
				return conf, fmt.Errorf("%w: static entry %s=%q: %w", errs.ErrInvalid, name, a, err)
			}
			if conf.UDP.Static == nil {
				conf.UDP.Static = make(map[string]netip.Addr)
			}
			conf.UDP.Static[string(ipcp.MD5.Sum(name))] = addr
		}
	}
	return conf, nil
}

func detailMsg(info ipcp.Info, named []string) *ctl.IPCPDetail {
	d := &ctl.IPCPDetail{Addr: info.Addr, Names: named, Unnamed: uint32(len(info.Names)), Flows: uint32(info.Flows)}
	for _, nb := range info.Neighbours {
		d.Neighbours = append(d.Neighbours, &ctl.Neighbour{Addr: nb.Addr, Comp: nb.Comp, Dst: nb.Dst, Up: nb.Up, Cube: cubeName(nb)})
	}
	for _, r := range info.Routes {
		d.Routes = append(d.Routes, &ctl.Route{Dst: r.Dst, NextHops: r.NextHops})
	}
	return d
}

// cubeName is the QoS cube of a data-transfer neighbour, as text.
func cubeName(nb ipcp.Neighbour) string {
	if nb.Comp != ipcp.CompDT {
		return ""
	}
	return nb.Cube.String()
}

// BindAuto is the bind-program option that enables auto-start.
const BindAuto = 0x01
