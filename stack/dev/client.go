package dev

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/o7s/ouroboros/stack/ctl"
	"github.com/o7s/ouroboros/stack/errs"
	"github.com/o7s/ouroboros/stack/qos"
	"github.com/o7s/ouroboros/stack/seqpkt"
)

// DefaultSock is the node's control socket when OUROBOROS_SOCK is not set.
const DefaultSock = "/run/ouroboros/irm.sock"

// SockPath returns the control socket to use: $OUROBOROS_SOCK, or DefaultSock.
func SockPath() string {
	if s := os.Getenv("OUROBOROS_SOCK"); s != "" {
		return s
	}
	return DefaultSock
}

// Flow descriptors are numbered like the reference's: from 64 up.
const (
	firstFD = 64
	maxFDs  = 4096
)

// Client is a process attached to a node. Its session with the node lasts
// until Close or the end of the process; the node then reaps its flows and
// bindings.
type Client struct {
	node *ctl.Client
	sess *ctl.Conn
	pid  int
	prog string

	mu    sync.Mutex // guards fds, flows, early
	fds   [maxFDs]bool
	flows map[*Flow]bool
	// early holds the last down/up state the node sent for a flow id this
	// client has not registered yet: the notice can overtake the reply to
	// Alloc or Accept, which comes on another connection.
	early map[int]bool
	done  chan struct{} // closed when the session reader ends
	crc   bool          // Alloc keeps the QoS's ber: ber 0 puts a CRC32 on every packet
}

// SetCRC decides whether flows this client allocates with a QoS of ber 0
// carry a CRC32 on every packet (spec APP §4.14). It is off by default, as
// in the reference's default build (QOS_DISABLE_CRC), which forces ber to
// 1 in every request: a reference node's FRCT control packets would fail
// the check. The environment variable OUROBOROS_CRC=1 turns it on. An
// accepted flow follows what its allocator asked.
func (c *Client) SetCRC(on bool) { c.crc = on }

// Dial attaches this process to the node at sock, announcing it under the
// program name of os.Args (the name 'irm bind program' binds).
func Dial(ctx context.Context, sock string) (*Client, error) {
	return DialAs(ctx, sock, progName(os.Args))
}

// DialAs is Dial with an explicit program name.
func DialAs(ctx context.Context, sock, prog string) (*Client, error) {
	pid := os.Getpid()
	sess, err := ctl.Announce(ctx, sock, pid, prog)
	if err != nil {
		return nil, err
	}
	cl := &Client{node: ctl.NewClient(sock), sess: sess, pid: pid, prog: prog,
		flows: make(map[*Flow]bool), early: make(map[int]bool), done: make(chan struct{}),
		crc: os.Getenv("OUROBOROS_CRC") == "1"}
	go cl.watch()
	go cl.keepalive()
	return cl, nil
}

// watch reads the node's notifications on the session: the layer under a
// flow went down or came back up.
func (c *Client) watch() {
	defer close(c.done)
	for {
		m, f, err := c.sess.Recv()
		if f != nil {
			f.Close()
		}
		if err != nil {
			return
		}
		switch m.GetCode() {
		case ctl.Code_FLOW_DOWN, ctl.Code_FLOW_UP:
			id, down := int(m.GetFlow().GetId()), m.GetCode() == ctl.Code_FLOW_DOWN
			c.mu.Lock()
			var fls []*Flow
			for fl := range c.flows {
				if fl.id == id && !fl.direct {
					fls = append(fls, fl)
				}
			}
			switch {
			case len(fls) > 0:
			case down:
				c.early[id] = true
			default:
				delete(c.early, id)
			}
			c.mu.Unlock()
			for _, fl := range fls {
				fl.setDown(down)
			}
		}
	}
}

func progName(argv []string) string {
	if len(argv) == 0 {
		return "unknown"
	}
	b := filepath.Base(argv[0])
	if (b == "python" || b == "python2" || b == "python3") && len(argv) > 1 {
		return filepath.Base(argv[1])
	}
	return b
}

var (
	defaultOnce   sync.Once
	defaultClient *Client
	defaultErr    error
)

// Default returns the process's client for the node at SockPath(),
// attaching on first use.
func Default() (*Client, error) {
	defaultOnce.Do(func() {
		defaultClient, defaultErr = Dial(context.Background(), SockPath())
	})
	return defaultClient, defaultErr
}

// Alloc allocates a flow with the default client.
func Alloc(ctx context.Context, name string, qs qos.Spec) (*Flow, error) {
	c, err := Default()
	if err != nil {
		return nil, err
	}
	return c.Alloc(ctx, name, qs)
}

// Accept accepts a flow with the default client.
func Accept(ctx context.Context) (*Flow, error) {
	c, err := Default()
	if err != nil {
		return nil, err
	}
	return c.Accept(ctx)
}

// Join joins a flow to a broadcast layer with the default client.
func Join(ctx context.Context, layer string) (*Flow, error) {
	c, err := Default()
	if err != nil {
		return nil, err
	}
	return c.Join(ctx, layer)
}

// PID is the process id the node knows this client by.
func (c *Client) PID() int { return c.pid }

// Sock is the node's control socket.
func (c *Client) Sock() string { return c.node.Sock() }

// Close detaches from the node. The node deallocates the flows still open.
func (c *Client) Close() error {
	err := c.sess.Close()
	<-c.done
	return err
}

// Alloc allocates a flow to the name with the given QoS. Without a deadline
// on ctx the node applies its default (20 s).
func (c *Client) Alloc(ctx context.Context, name string, qs qos.Spec) (*Flow, error) {
	if !c.crc {
		qs.BER = 1 // as the reference's default build (QOS_DISABLE_CRC)
	}
	f, err := c.adopt(c.node.Alloc(ctx, c.pid, name, qs))
	if err != nil {
		return nil, fmt.Errorf("alloc %s: %w", name, err)
	}
	return f, nil
}

// Join joins a new flow to the broadcast layer named layer (a layer name,
// not an application name; spec APP §2.4): every SDU written on it goes to
// every other member of the layer, other joined flows and the layer's
// other IPCPs, never back to this flow, and every SDU they write arrives
// on it. SDUs longer than 1400 bytes are dropped by the layer. The flow
// has QoS np1: no FRCT, no encryption, no keepalive. Without a deadline on
// ctx the node applies its default (20 s).
func (c *Client) Join(ctx context.Context, layer string) (*Flow, error) {
	f, err := c.adopt(c.node.Join(ctx, c.pid, layer))
	if err != nil {
		return nil, fmt.Errorf("join %s: %w", layer, err)
	}
	return f, nil
}

// Accept waits for a flow request for any name this process is bound to.
// It waits until ctx ends.
func (c *Client) Accept(ctx context.Context) (*Flow, error) {
	f, err := c.adopt(c.node.Accept(ctx, c.pid))
	if err != nil {
		return nil, fmt.Errorf("accept: %w", err)
	}
	return f, nil
}

// adopt turns the node's answer to a flow request into a Flow: the
// caller's end of the flow becomes this process's.
func (c *Client) adopt(fi *ctl.FlowInfo, file *os.File, err error) (*Flow, error) {
	if err != nil {
		return nil, err
	}
	conn, err := seqpkt.FromFile(file)
	if err != nil {
		c.dealloc(int(fi.GetId()))
		return nil, err
	}
	fd, err := c.takeFD()
	if err != nil {
		conn.Close()
		c.dealloc(int(fi.GetId()))
		return nil, err
	}
	fl, err := newFlow(c, fd, fi, conn)
	if err != nil {
		conn.Close()
		c.dealloc(int(fi.GetId()))
		c.mu.Lock()
		c.fds[fd] = false
		c.mu.Unlock()
		return nil, err
	}
	c.mu.Lock()
	c.flows[fl] = true
	down := c.early[fl.id] && !fl.direct
	delete(c.early, fl.id)
	c.mu.Unlock()
	if down {
		fl.setDown(true)
	}
	return fl, nil
}

func (c *Client) takeFD() (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for fd := firstFD; fd < maxFDs; fd++ {
		if !c.fds[fd] {
			c.fds[fd] = true
			return fd, nil
		}
	}
	return 0, fmt.Errorf("%w: all %d flow descriptors are in use", errs.ErrResources, maxFDs-firstFD)
}

func (c *Client) release(f *Flow) {
	c.mu.Lock()
	c.fds[f.fd] = false
	delete(c.flows, f)
	c.mu.Unlock()
}

func (c *Client) dealloc(id int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return c.node.Dealloc(ctx, c.pid, id)
}
