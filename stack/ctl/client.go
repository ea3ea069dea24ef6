package ctl

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/o7s/ouroboros/stack/errs"
	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/stack/qos"
)

// DefaultTimeout bounds a management request whose context has no deadline
// of its own. The longest the node itself takes is a bootstrap (5 s in the
// reference); enrollment and connections may take longer, and their callers
// give them deadlines of their own.
const DefaultTimeout = 30 * time.Second

// Client is a typed client of the node at one control socket: each method
// is one request on a connection of its own (Call), and returns the node's
// error as an *errs.Error wrapping the sentinel of its code. A request
// that gets no reply before its deadline fails with errs.ErrNode.
type Client struct {
	sock string
}

// NewClient returns a client of the node whose control socket is sock.
func NewClient(sock string) *Client { return &Client{sock: sock} }

// Sock is the node's control socket.
func (c *Client) Sock() string { return c.sock }

// do sends one management request. Without a deadline on ctx it waits at
// most DefaultTimeout. Management replies never carry a descriptor; one
// that does is closed.
func (c *Client) do(ctx context.Context, m *Msg) (*Msg, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	deadline, _ := ctx.Deadline()
	timeout := time.Until(deadline).Round(time.Second)
	reply, f, err := Call(ctx, c.sock, m)
	if f != nil {
		f.Close()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return nil, fmt.Errorf("%w: no reply to %v within %v", errs.ErrNode, m.GetCode(), timeout)
	}
	return reply, err
}

func (c *Client) send(ctx context.Context, m *Msg) error {
	_, err := c.do(ctx, m)
	return err
}

// CreateIPCP creates an IPCP of type t named name and returns its id.
func (c *Client) CreateIPCP(ctx context.Context, name string, t ipcp.Type) (uint32, error) {
	r, err := c.do(ctx, &Msg{Code: Code_CREATE_IPCP, Ipcp: &IPCPInfo{Type: uint32(t), Name: name}})
	if err != nil {
		return 0, err
	}
	return r.GetIpcp().GetId(), nil
}

// DestroyIPCP destroys IPCP id.
func (c *Client) DestroyIPCP(ctx context.Context, id uint32) error {
	return c.send(ctx, &Msg{Code: Code_DESTROY_IPCP, Ipcp: &IPCPInfo{Id: id}})
}

// Bootstrap bootstraps IPCP id, of type t, with conf: it starts a layer.
func (c *Client) Bootstrap(ctx context.Context, id uint32, t ipcp.Type, conf ipcp.Config) error {
	return c.send(ctx, &Msg{Code: Code_BOOTSTRAP_IPCP, Ipcp: &IPCPInfo{Id: id}, Conf: ConfigToMsg(t, conf)})
}

// Enroll makes IPCP id join the layer of the IPCP that answers for dst.
func (c *Client) Enroll(ctx context.Context, id uint32, dst string) error {
	return c.send(ctx, &Msg{Code: Code_ENROLL_IPCP, Ipcp: &IPCPInfo{Id: id}, Dst: dst})
}

// Connect connects component comp (ipcp.CompMgmt, ipcp.CompDT) of IPCP id
// to the IPCP dst over a lower flow of QoS qs.
func (c *Client) Connect(ctx context.Context, id uint32, dst, comp string, qs qos.Spec) error {
	return c.send(ctx, &Msg{Code: Code_CONNECT_IPCP, Ipcp: &IPCPInfo{Id: id}, Dst: dst, Comp: comp, Qos: QoSToMsg(qs)})
}

// Disconnect undoes Connect.
func (c *Client) Disconnect(ctx context.Context, id uint32, dst, comp string) error {
	return c.send(ctx, &Msg{Code: Code_DISCONNECT_IPCP, Ipcp: &IPCPInfo{Id: id}, Dst: dst, Comp: comp})
}

// BindProgram binds the program exec[0] (an absolute path; exec[1:] are
// the arguments it is started with) to name; with auto, the node starts it
// when a request for name finds nobody accepting.
func (c *Client) BindProgram(ctx context.Context, exec []string, name string, auto bool) error {
	m := &Msg{Code: Code_BIND_PROGRAM, Name: name, Exec: exec}
	if auto {
		m.Opts = BindAuto
	}
	return c.send(ctx, m)
}

// UnbindProgram unbinds the program prog (its base name) from name, or
// from every name when name is empty.
func (c *Client) UnbindProgram(ctx context.Context, prog, name string) error {
	return c.send(ctx, &Msg{Code: Code_UNBIND_PROGRAM, Prog: prog, Name: name})
}

// BindProcess binds the process pid to name.
func (c *Client) BindProcess(ctx context.Context, pid int, name string) error {
	return c.send(ctx, &Msg{Code: Code_BIND_PROCESS, Pid: int32(pid), Name: name})
}

// UnbindProcess unbinds the process pid from name, or from every name when
// name is empty.
func (c *Client) UnbindProcess(ctx context.Context, pid int, name string) error {
	return c.send(ctx, &Msg{Code: Code_UNBIND_PROCESS, Pid: int32(pid), Name: name})
}

// BindIPCP binds name to IPCP id itself: flows to name end in the IPCP.
func (c *Client) BindIPCP(ctx context.Context, id uint32, name string) error {
	return c.send(ctx, &Msg{Code: Code_BIND_IPCP, Ipcp: &IPCPInfo{Id: id}, Name: name})
}

// UnbindIPCP undoes BindIPCP.
func (c *Client) UnbindIPCP(ctx context.Context, id uint32, name string) error {
	return c.send(ctx, &Msg{Code: Code_UNBIND_IPCP, Ipcp: &IPCPInfo{Id: id}, Name: name})
}

// CreateName creates name with load-balancing policy lb.
func (c *Client) CreateName(ctx context.Context, name string, lb LB) error {
	return c.send(ctx, &Msg{Code: Code_CREATE_NAME, NameInfo: &NameInfo{Name: name, PolLb: uint32(lb)}})
}

// SecPaths are a name's security files, server (S) and client (C) side:
// enc.conf, certificate and key. An empty path keeps the default.
type SecPaths struct {
	SEnc, SCrt, SKey, CEnc, CCrt, CKey string
}

// CreateNameSec creates name, or changes an existing one, with its
// security files.
func (c *Client) CreateNameSec(ctx context.Context, name string, lb LB, p SecPaths) error {
	return c.send(ctx, &Msg{Code: Code_CREATE_NAME, NameInfo: &NameInfo{Name: name, PolLb: uint32(lb),
		SencPath: p.SEnc, ScrtPath: p.SCrt, SkeyPath: p.SKey, CencPath: p.CEnc, CcrtPath: p.CCrt, CkeyPath: p.CKey}})
}

// DestroyName destroys name.
func (c *Client) DestroyName(ctx context.Context, name string) error {
	return c.send(ctx, &Msg{Code: Code_DESTROY_NAME, Name: name})
}

// Register registers name in the layer of IPCP id.
func (c *Client) Register(ctx context.Context, name string, id uint32) error {
	return c.send(ctx, &Msg{Code: Code_REG_NAME, Name: name, Ipcp: &IPCPInfo{Id: id}})
}

// Unregister undoes Register.
func (c *Client) Unregister(ctx context.Context, name string, id uint32) error {
	return c.send(ctx, &Msg{Code: Code_UNREG_NAME, Name: name, Ipcp: &IPCPInfo{Id: id}})
}

// IPCPs lists the node's IPCPs.
func (c *Client) IPCPs(ctx context.Context) ([]*IPCPInfo, error) {
	r, err := c.do(ctx, &Msg{Code: Code_LIST_IPCPS})
	return r.GetIpcps(), err
}

// Names lists the node's names.
func (c *Client) Names(ctx context.Context) ([]*NameInfo, error) {
	r, err := c.do(ctx, &Msg{Code: Code_LIST_NAMES})
	return r.GetNames(), err
}

// Flows lists the node's flow table.
func (c *Client) Flows(ctx context.Context) ([]*FlowInfo, error) {
	r, err := c.do(ctx, &Msg{Code: Code_LIST_FLOWS})
	return r.GetFlows(), err
}

// IPCPDetail describes IPCP id: its address, neighbours, routes, names.
func (c *Client) IPCPDetail(ctx context.Context, id uint32) (*IPCPDetail, error) {
	r, err := c.do(ctx, &Msg{Code: Code_IPCP_INFO, Ipcp: &IPCPInfo{Id: id}})
	return r.GetIpcpDetail(), err
}

// The flow requests of an application process. Their replies carry the
// application's end of the flow, which the caller owns.

// Alloc asks for a flow from process pid to name with QoS qs. The node
// waits until ctx's deadline, or its own default without one.
func (c *Client) Alloc(ctx context.Context, pid int, name string, qs qos.Spec) (*FlowInfo, *os.File, error) {
	return c.flow(ctx, &Msg{Code: Code_FLOW_ALLOC, Dst: name, TimeoutNs: timeoutNS(ctx),
		Flow: &FlowInfo{NPid: uint32(pid), Qos: QoSToMsg(qs)}})
}

// Join asks for a flow of process pid joined to the broadcast layer layer.
func (c *Client) Join(ctx context.Context, pid int, layer string) (*FlowInfo, *os.File, error) {
	return c.flow(ctx, &Msg{Code: Code_FLOW_JOIN, Dst: layer, TimeoutNs: timeoutNS(ctx),
		Flow: &FlowInfo{NPid: uint32(pid), Qos: QoSToMsg(qos.NP1)}})
}

// Accept waits, until ctx ends, for a flow request for any name process
// pid is bound to.
func (c *Client) Accept(ctx context.Context, pid int) (*FlowInfo, *os.File, error) {
	return c.flow(ctx, &Msg{Code: Code_FLOW_ACCEPT, TimeoutNs: timeoutNS(ctx), Flow: &FlowInfo{NPid: uint32(pid)}})
}

// Dealloc releases process pid's end of flow id.
func (c *Client) Dealloc(ctx context.Context, pid, id int) error {
	return c.send(ctx, &Msg{Code: Code_FLOW_DEALLOC, Flow: &FlowInfo{Id: uint32(id), NPid: uint32(pid)}})
}

func (c *Client) flow(ctx context.Context, req *Msg) (*FlowInfo, *os.File, error) {
	m, f, err := Call(ctx, c.sock, req)
	if err != nil {
		if ctx.Err() == context.DeadlineExceeded {
			return nil, nil, fmt.Errorf("%w: %w", errs.ErrTimeout, err)
		}
		return nil, nil, err
	}
	if f == nil || m.GetFlow() == nil {
		if f != nil {
			f.Close()
		}
		return nil, nil, fmt.Errorf("%w: the node's reply carries no flow", errs.ErrNode)
	}
	return m.GetFlow(), f, nil
}

// timeoutNS is what is left of ctx's deadline, for the node; 0 when none.
func timeoutNS(ctx context.Context) uint64 {
	if d, ok := ctx.Deadline(); ok {
		return uint64(max(time.Until(d), time.Nanosecond))
	}
	return 0
}

// Announce opens the session of process pid, of program prog: the node
// knows the process until the returned connection closes, and sends on it
// the notices of its flows (FLOW_DOWN, FLOW_UP).
func Announce(ctx context.Context, sock string, pid int, prog string) (*Conn, error) {
	c, err := Dial(ctx, sock)
	if err != nil {
		return nil, err
	}
	if err := c.Send(&Msg{Code: Code_PROC_ANNOUNCE, Pid: int32(pid), Prog: prog}, nil); err != nil {
		c.Close()
		return nil, fmt.Errorf("%w: announce: %w", errs.ErrNode, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	c.SetDeadline(deadline)
	m, f, err := c.Recv()
	if f != nil {
		f.Close()
	}
	if err == nil {
		err = FromReply(m)
	}
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("announce to the node at %s: %w", sock, err)
	}
	c.SetDeadline(time.Time{})
	return c, nil
}
