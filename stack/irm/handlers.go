package irm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/o7s/ouroboros/stack/ctl"
	"github.com/o7s/ouroboros/stack/errs"
	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/stack/qos"
)

func flowMsg(fi FlowInfo) *ctl.FlowInfo {
	return &ctl.FlowInfo{Id: uint32(fi.ID), NPid: uint32(fi.NPid), N_1Pid: uint32(fi.N1Pid), Mpl: uint32(fi.MPL / time.Millisecond),
		State: uint32(fi.State), Qos: ctl.QoSToMsg(fi.QoS), Direct: fi.Direct, Name: fi.Name, Layer: fi.Layer,
		Cipher: uint32(fi.Crypt.Cipher), MaxSdu: uint32(max(fi.MaxSDU, 0))}
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
		if fi.Crypt.Encrypted() { // the key goes to the flow's own process only
			reply.Flow.SymKey = append([]byte(nil), fi.Crypt.Key[:]...)
		}
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
		if conf, err = ctl.ConfigFromMsg(m.GetConf()); err == nil {
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
		ni := m.GetNameInfo()
		p := NamePaths{ServerEnc: ni.GetSencPath(), ServerCrt: ni.GetScrtPath(), ServerKey: ni.GetSkeyPath(),
			ClientEnc: ni.GetCencPath(), ClientCrt: ni.GetCcrtPath(), ClientKey: ni.GetCkeyPath()}
		if err = n.CreateName(ni.GetName(), ctl.LB(ni.GetPolLb())); err == nil && p != (NamePaths{}) {
			err = n.SetNamePaths(ni.GetName(), p)
		}
	case ctl.Code_DESTROY_NAME:
		err = n.DestroyName(m.GetName())
	case ctl.Code_LIST_NAMES:
		for _, e := range n.ListNames() {
			reply.Names = append(reply.Names, &ctl.NameInfo{Name: e.Name, PolLb: uint32(e.LB),
				SencPath: e.ServerEncPath, CencPath: e.ClientEncPath, ServerEnc: e.ServerEnc, ClientEnc: e.ClientEnc,
				ScrtPath: e.ServerCrtPath, SkeyPath: e.ServerKeyPath, CcrtPath: e.ClientCrtPath, CkeyPath: e.ClientKeyPath,
				ServerAuth: e.ServerAuth, ClientAuth: e.ClientAuth})
		}
	case ctl.Code_BIND_PROGRAM:
		err = n.BindProgram(m.GetExec(), m.GetName(), m.GetOpts()&ctl.BindAuto != 0)
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
