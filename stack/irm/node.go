// Package irm is the IPC Resource Manager of onode (spec SYSTEM §2): the
// registry of names, programs, processes, IPCPs and flows; binding and
// registration; flow brokering between applications and IPCPs; direct flows
// between two applications of the system; auto-exec of bound programs; and
// the control server the dev library and irm talk to.
//
// One mutex guards the whole registry. Blocking operations (accept, alloc,
// waiting for an acceptor) wait on a broadcast channel that is replaced on
// every change, and re-check their condition, so they also honour contexts.
package irm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/o7s/ouroboros/stack/ctl"
	"github.com/o7s/ouroboros/stack/errs"
	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/stack/oap"
)

// Defaults from the reference (spec SYSTEM §11.1).
const (
	DefaultReqArrTimeout = time.Second
	DefaultAllocTimeout  = 20 * time.Second
	QueryTimeout         = 200 * time.Millisecond
	BindProcessWait      = 10 * time.Millisecond
	MaxFlows             = 10240 // flow ids are 1..MaxFlows-1
	MaxName              = 255
	DirectMPL            = time.Millisecond
)

// Config configures a node.
type Config struct {
	Sock string       // control socket path
	Log  *slog.Logger // nil discards
	// NoDirect makes every flow go through an IPCP, never directly between
	// two applications (the reference's DISABLE_DIRECT_IPC).
	NoDirect bool
	// NoPorts keeps the IPCPs of the node that use other layers (unicast)
	// on their lower flows' socket pairs, as programs are, instead of the
	// in-process path the lower IPCP offers (ipcp.Port): for comparisons
	// and tests.
	NoPorts bool
	// ReqArrTimeout is how long a request waits for an acceptor, and again
	// after auto-starting a program.
	ReqArrTimeout time.Duration
	// AllocTimeout bounds an allocation whose caller gave no timeout.
	AllocTimeout time.Duration
	// Constructors override how IPCPs of a type are made (tests use this
	// to run IPCPs over in-memory links).
	Constructors map[ipcp.Type]Constructor
	// SecurityDir holds the names' default encryption configuration:
	// server/<name>/enc.conf and client/<name>/enc.conf (spec APP §5.2).
	// Empty: only the paths set with name create are read.
	SecurityDir string
}

// Node is one system's IRM with its IPCPs.
type Node struct {
	cfg Config
	log *slog.Logger
	ln  *ctl.Listener

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex // guards everything below
	changed  chan struct{}
	names    map[string]*name
	progs    map[string]*program
	procs    map[int]*process
	ipcps    map[uint32]*ipcpEntry
	flows    map[int]*flow
	freeFrom int // every flow id below it is in use
	serial   uint64
	nextIPCP uint32
	children map[int]*exec.Cmd  // auto-started programs
	conns    map[*ctl.Conn]bool // open control connections
	sessions map[int][]*session // the session connections of each process
	closed   bool
	oap      *oap.Server // answers the OAP requests of arriving flows
}

// New creates a node without a control socket (for tests and for Serve).
func New(cfg Config) *Node {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.ReqArrTimeout == 0 {
		cfg.ReqArrTimeout = DefaultReqArrTimeout
	}
	if cfg.AllocTimeout == 0 {
		cfg.AllocTimeout = DefaultAllocTimeout
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Node{
		cfg: cfg, log: cfg.Log, ctx: ctx, cancel: cancel,
		changed:  make(chan struct{}),
		names:    make(map[string]*name),
		progs:    make(map[string]*program),
		procs:    make(map[int]*process),
		ipcps:    make(map[uint32]*ipcpEntry),
		flows:    make(map[int]*flow),
		freeFrom: 1,
		children: make(map[int]*exec.Cmd),
		conns:    make(map[*ctl.Conn]bool),
		sessions: make(map[int][]*session),
		oap:      oap.NewServer(),
		nextIPCP: 1,
	}
}

// Start opens the control socket at cfg.Sock and serves it until Close.
func Start(cfg Config) (*Node, error) {
	n := New(cfg)
	ln, err := ctl.Listen(cfg.Sock)
	if err != nil {
		return nil, err
	}
	n.ln = ln
	n.wg.Add(1)
	go n.serve()
	n.log.Info("node started", "sock", cfg.Sock, "direct", !cfg.NoDirect, "ports", !cfg.NoPorts)
	return n, nil
}

// Close stops serving, destroys every IPCP, stops the programs the node
// started and waits for its goroutines.
func (n *Node) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	n.notify()
	ids := make([]uint32, 0, len(n.ipcps))
	for id := range n.ipcps {
		ids = append(ids, id)
	}
	for c := range n.conns {
		c.Close()
	}
	n.mu.Unlock()
	n.cancel()
	if n.ln != nil {
		n.ln.Close()
	}
	for _, id := range ids {
		n.DestroyIPCP(id)
	}
	n.stopChildren()
	n.wg.Wait()
	n.log.Info("node stopped")
	return nil
}

// notify wakes every waiter; n.mu is held.
func (n *Node) notify() {
	close(n.changed)
	n.changed = make(chan struct{})
}

// wait releases n.mu until the registry changes, ctx ends or the deadline
// passes; it returns with n.mu held and false if it did not see a change.
func (n *Node) wait(ctx context.Context, deadline time.Time) bool {
	ch := n.changed
	n.mu.Unlock()
	defer n.mu.Lock()
	var timer <-chan time.Time
	if !deadline.IsZero() {
		t := time.NewTimer(time.Until(deadline))
		defer t.Stop()
		timer = t.C
	}
	select {
	case <-ch:
		return true
	case <-ctx.Done():
	case <-n.ctx.Done():
	case <-timer:
	}
	return false
}

func (n *Node) serve() {
	defer n.wg.Done()
	for {
		c, err := n.ln.Accept()
		if err != nil {
			if !errors.Is(err, errs.ErrNode) && n.ctx.Err() == nil {
				n.log.Warn("control socket accept failed", "err", err)
			}
			return
		}
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			n.serveConn(c)
		}()
	}
}

// serveConn reads the first message of a connection: an announce makes it
// a session, anything else is one request.
func (n *Node) serveConn(c *ctl.Conn) {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		c.Close()
		return
	}
	n.conns[c] = true
	n.mu.Unlock()
	defer func() {
		n.mu.Lock()
		delete(n.conns, c)
		n.mu.Unlock()
		c.Close()
	}()
	cred, err := c.Cred()
	if err != nil {
		n.log.Warn("control connection without credentials", "err", err)
		return
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	m, f, err := c.Recv()
	closeFile(f) // requests never carry descriptors
	if err != nil {
		n.log.Debug("bad control message", "pid", cred.PID, "err", err)
		return
	}
	c.SetDeadline(time.Time{})
	if m.GetCode() == ctl.Code_PROC_ANNOUNCE {
		n.session(c, cred, m)
		return
	}
	ctx, cancel := context.WithCancel(n.ctx)
	defer cancel()
	go func() { // the client closing its end, or breaking the protocol with a second message, cancels the request
		_, f, _ := c.Recv()
		closeFile(f)
		cancel()
	}()
	reply, file, undo := n.handle(ctx, cred, m)
	if err := c.Send(reply, file); err != nil {
		n.log.Debug("reply not delivered", "code", m.GetCode(), "pid", cred.PID, "err", err)
		if undo != nil {
			undo()
		}
	}
	if file != nil {
		file.Close()
	}
}

// session registers an announced process and reaps it when the connection
// closes, which the kernel does when the process dies.
func (n *Node) session(c *ctl.Conn, cred ctl.Cred, m *ctl.Msg) {
	p, err := n.announce(cred, m.GetProg())
	if err != nil {
		c.Send(ctl.Reply(err), nil)
		return
	}
	defer n.processGone(cred.PID, p) // only the entry this session announced
	if err := c.Send(ctl.Reply(nil), nil); err != nil {
		return
	}
	s := &session{c: c, q: make(chan *ctl.Msg, 64), done: make(chan struct{})}
	go s.writer()
	n.mu.Lock()
	n.sessions[cred.PID] = append(n.sessions[cred.PID], s)
	n.mu.Unlock()
	defer func() {
		n.mu.Lock()
		n.sessions[cred.PID] = slices.DeleteFunc(n.sessions[cred.PID], func(x *session) bool { return x == s })
		if len(n.sessions[cred.PID]) == 0 {
			delete(n.sessions, cred.PID)
		}
		n.mu.Unlock()
		s.close()
	}()
	for {
		_, f, err := c.Recv()
		closeFile(f)
		if err != nil {
			return
		}
	}
}

// session is a process's session connection; the node writes flow state
// notifications on it, in order, from a goroutine of its own, so that a
// process that does not read holds up nobody else.
type session struct {
	c    *ctl.Conn
	q    chan *ctl.Msg
	done chan struct{} // closed when the writer has ended

	mu     sync.Mutex // guards closed, and sends on q
	closed bool
}

// notify queues a notification; with 64 queued already it is dropped.
func (s *session) notify(m *ctl.Msg) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	select {
	case s.q <- m:
	default:
	}
}

func (s *session) writer() {
	defer close(s.done)
	for m := range s.q {
		s.c.SetWriteDeadline(time.Now().Add(time.Second)) // not the read side: it watches for the end
		s.c.Send(m, nil)
	}
}

func (s *session) close() {
	s.mu.Lock()
	s.closed = true
	close(s.q)
	s.mu.Unlock()
	<-s.done
}

// FlowState implements ipcp.IRM: the process holding the flow learns that
// its layer went down or came back up.
func (n *Node) FlowState(key ipcp.FlowKey, up bool) {
	n.mu.Lock()
	f := n.flowByKey(key)
	var ss []*session
	owner := 0
	if f != nil && f.state == ctl.FlowAllocated {
		ss = slices.Clone(n.sessions[f.owner])
		owner = f.owner
	}
	n.mu.Unlock()
	if self := ipcpOfPID(owner); self != 0 {
		n.lowerState(self, key.ID, up)
	}
	code := ctl.Code_FLOW_DOWN
	if up {
		code = ctl.Code_FLOW_UP
	}
	for _, s := range ss {
		s.notify(&ctl.Msg{Code: code, Flow: &ctl.FlowInfo{Id: uint32(key.ID)}})
	}
	if f != nil {
		n.log.Info("flow state", "flow", key.ID, "up", up, "pid", f.owner)
	}
}

// announce registers a process (a session) and gives it the bindings of
// its program.
func (n *Node) announce(cred ctl.Cred, prog string) (*process, error) {
	if prog == "" || len(prog) > MaxName {
		return nil, fmt.Errorf("%w: announce needs a program name of 1 to %d bytes", errs.ErrInvalid, MaxName)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if p := n.procs[cred.PID]; p != nil {
		p.sessions++
		return p, nil
	}
	p := &process{pid: cred.PID, prog: prog, uid: cred.UID, gid: cred.GID, sessions: 1}
	n.procs[cred.PID] = p
	if pg := n.progs[prog]; pg != nil {
		for _, nm := range pg.names {
			n.bindProc(p, nm)
		}
	}
	n.log.Info("process announced", "pid", cred.PID, "prog", prog, "names", p.names)
	n.notify()
	return p, nil
}

// sortedIPCPs returns the IPCPs in the order the IRM asks them: by type,
// then id; n.mu is held.
func (n *Node) sortedIPCPs() []*ipcpEntry {
	l := make([]*ipcpEntry, 0, len(n.ipcps))
	for _, e := range n.ipcps {
		l = append(l, e)
	}
	sort.Slice(l, func(i, j int) bool {
		if l[i].typ != l[j].typ {
			return l[i].typ < l[j].typ
		}
		return l[i].id < l[j].id
	})
	return l
}

var _ ipcp.IRM = (*Node)(nil)

func closeFile(f *os.File) {
	if f != nil {
		f.Close()
	}
}
