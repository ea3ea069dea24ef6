package ctl

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/o7s/ouroboros/stack/errs"
	"google.golang.org/protobuf/proto"
)

// MaxMsg is the largest control message, in bytes.
const MaxMsg = 64 << 10

var errTruncated = errors.New("ctl: message truncated")

// Conn is one control connection. It is not safe for concurrent Send or
// concurrent Recv; one sender and one receiver may run at once.
type Conn struct {
	uc  *net.UnixConn
	oob []byte
}

// recvBufs holds receive buffers of MaxMsg+1 bytes. Most connections carry
// one request and its reply, so a buffer per connection would be a fresh
// 64 KiB to allocate and clear for every request; Recv borrows one for the
// read and the decoding only (Decode copies what it keeps).
var recvBufs = sync.Pool{New: func() any { b := make([]byte, MaxMsg+1); return &b }}

// Cred is the identity of the process at the other end of a connection,
// taken from the kernel (SO_PEERCRED), never from the message.
type Cred struct {
	PID, UID, GID int
}

func newConn(uc *net.UnixConn) *Conn {
	return &Conn{uc: uc, oob: make([]byte, syscall.CmsgSpace(4*4))}
}

// Dial connects to the node's control socket at path.
func Dial(ctx context.Context, path string) (*Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unixpacket", path)
	if err != nil {
		return nil, fmt.Errorf("%w at %s: %w (is onode running? set OUROBOROS_SOCK or --sock)", errs.ErrNode, path, err)
	}
	return newConn(c.(*net.UnixConn)), nil
}

// Send writes one message, with f's descriptor attached when f is not nil.
func (c *Conn) Send(m *Msg, f *os.File) error {
	b, err := proto.Marshal(m)
	if err != nil {
		return fmt.Errorf("ctl: encode %v: %w", m.GetCode(), err)
	}
	if len(b) > MaxMsg {
		return fmt.Errorf("ctl: %v message of %d bytes: %w", m.GetCode(), len(b), errs.ErrMsgSize)
	}
	var oob []byte
	if f != nil {
		oob = syscall.UnixRights(int(f.Fd()))
	}
	_, _, err = c.uc.WriteMsgUnix(b, oob, nil)
	return err
}

// Recv reads one message and the descriptor attached to it, if any. A
// message that is not a well-formed Msg is an error; extra descriptors are
// closed.
func (c *Conn) Recv() (*Msg, *os.File, error) {
	bp := recvBufs.Get().(*[]byte)
	defer recvBufs.Put(bp)
	buf := *bp
	n, oobn, flags, _, err := c.uc.ReadMsgUnix(buf, c.oob)
	// A descriptor may come with an empty datagram, which Go reports as
	// io.EOF: take it first so that it is closed whatever happens next.
	f, ferr := takeFile(c.oob[:oobn])
	if err != nil {
		closeFile(f)
		return nil, nil, err
	}
	if flags&(syscall.MSG_TRUNC|syscall.MSG_CTRUNC) != 0 || n > MaxMsg {
		closeFile(f)
		return nil, nil, errTruncated
	}
	if ferr != nil {
		closeFile(f)
		return nil, nil, ferr
	}
	m, err := Decode(buf[:n])
	if err != nil {
		closeFile(f)
		return nil, nil, err
	}
	return m, f, nil
}

// Decode parses one control message.
func Decode(b []byte) (*Msg, error) {
	m := new(Msg)
	if err := proto.Unmarshal(b, m); err != nil {
		return nil, fmt.Errorf("ctl: decode: %w", err)
	}
	if m.GetCode() == Code_CODE_UNSPECIFIED {
		return nil, errors.New("ctl: decode: message without a code")
	}
	if _, ok := Code_name[int32(m.GetCode())]; !ok {
		return nil, fmt.Errorf("ctl: decode: unknown code %d", m.GetCode())
	}
	return m, nil
}

func takeFile(oob []byte) (*os.File, error) {
	if len(oob) == 0 {
		return nil, nil
	}
	cmsgs, err := syscall.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, fmt.Errorf("ctl: control message: %w", err)
	}
	var fds []int
	for _, cm := range cmsgs {
		got, err := syscall.ParseUnixRights(&cm)
		if err == nil {
			fds = append(fds, got...)
		}
	}
	if len(fds) == 0 {
		return nil, nil
	}
	for _, fd := range fds[1:] {
		syscall.Close(fd)
	}
	syscall.CloseOnExec(fds[0])
	return os.NewFile(uintptr(fds[0]), "flow"), nil
}

func closeFile(f *os.File) {
	if f != nil {
		f.Close()
	}
}

// SetDeadline bounds the next Send and Recv.
func (c *Conn) SetDeadline(t time.Time) error { return c.uc.SetDeadline(t) }

// SetWriteDeadline bounds the next Send only.
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.uc.SetWriteDeadline(t) }

// Close closes the connection.
func (c *Conn) Close() error { return c.uc.Close() }

// Cred returns the peer's credentials.
func (c *Conn) Cred() (Cred, error) { return peerCred(c.uc) }

// Call sends one request on a fresh connection and returns the reply and the
// descriptor it carries. Cancelling ctx closes the connection, which cancels
// the request at the node. A reply with a negative result is returned as an
// error (see FromReply), with the reply itself.
func Call(ctx context.Context, path string, req *Msg) (*Msg, *os.File, error) {
	c, err := Dial(ctx, path)
	if err != nil {
		return nil, nil, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if err := c.Send(req, nil); err != nil {
		return nil, nil, fmt.Errorf("%w: send %v: %w", errs.ErrNode, req.GetCode(), err)
	}
	m, f, err := c.Recv()
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, context.Cause(ctx)
		}
		return nil, nil, fmt.Errorf("%w: no reply to %v: %w", errs.ErrNode, req.GetCode(), err)
	}
	if err := FromReply(m); err != nil {
		closeFile(f)
		return m, nil, err
	}
	return m, f, nil
}

// Listener accepts control connections.
type Listener struct {
	ul *net.UnixListener
}

// Listen creates the control socket at path. A socket file left behind by a
// node that is gone is replaced; a live node on path is an error.
func Listen(path string) (*Listener, error) {
	if c, err := net.DialTimeout("unixpacket", path, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("a node is already running on %s (stop it, or start this one with another --sock): %w", path, errs.ErrExist)
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("%s exists and is not a socket; refusing to replace it", path)
		}
		os.Remove(path)
	}
	ul, err := net.ListenUnix("unixpacket", &net.UnixAddr{Name: path, Net: "unixpacket"})
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	ul.SetUnlinkOnClose(true)
	os.Chmod(path, 0o666)
	return &Listener{ul: ul}, nil
}

// Accept waits for the next connection.
func (l *Listener) Accept() (*Conn, error) {
	uc, err := l.ul.AcceptUnix()
	if err != nil {
		return nil, err
	}
	return newConn(uc), nil
}

// Close stops listening and removes the socket file.
func (l *Listener) Close() error { return l.ul.Close() }

// Addr is the socket path.
func (l *Listener) Addr() string { return l.ul.Addr().String() }
