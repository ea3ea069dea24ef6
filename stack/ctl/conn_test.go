package ctl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/o7s/ouroboros/stack/errs"
	"google.golang.org/protobuf/proto"
)

func sockPath(t *testing.T) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "ctl.sock")
}

func listen(t *testing.T, path string) *Listener {
	t.Helper()
	ln, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// pair returns the two ends of a control connection: the dialling client's
// and the listener's.
func pair(t *testing.T) (cli, srv *Conn) {
	t.Helper()
	path := sockPath(t)
	ln := listen(t, path)
	type res struct {
		c   *Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := ln.Accept()
		ch <- res{c, err}
	}()
	cli, err := Dial(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	r := <-ch
	if r.err != nil {
		t.Fatal(r.err)
	}
	t.Cleanup(func() { r.c.Close() })
	return cli, r.c
}

// rawPair is pair with a bare unixpacket socket on the client side, to send
// what Send never would.
func rawPair(t *testing.T) (cli *net.UnixConn, srv *Conn) {
	t.Helper()
	path := sockPath(t)
	ln := listen(t, path)
	cli, err := net.DialUnix("unixpacket", nil, &net.UnixAddr{Name: path, Net: "unixpacket"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	srv, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return cli, srv
}

func recvT(t *testing.T, c *Conn) (*Msg, *os.File, error) {
	t.Helper()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	defer c.SetDeadline(time.Time{})
	return c.Recv()
}

// pipe returns a pipe whose read end fails the test unless it sees end of
// file once every copy of the write end is closed.
func pipe(t *testing.T) (r, w *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	return r, w
}

// expectEOF checks that every copy of r's write end is closed: the
// receiver closed the descriptor it got, or never got one.
func expectEOF(t *testing.T, r *os.File) {
	t.Helper()
	r.SetReadDeadline(time.Now().Add(2 * time.Second))
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("pipe read = %q, %v; want end of file (a copy of the write end leaked)", b, err)
	}
}

// isEnd tells whether err from Recv means the peer hung up. Recv returns
// io.EOF for it (the runtime reports a zero-byte read on SOCK_SEQPACKET as
// EOF); net.ErrClosed is accepted too.
func isEnd(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed)
}

func TestConnRoundTrip(t *testing.T) {
	cli, srv := pair(t)
	reqs := []*Msg{
		{Code: Code_PROC_ANNOUNCE, Pid: 7, Prog: "oping"},
		{Code: Code_FLOW_ALLOC, Dst: "echo", TimeoutNs: 1e9, Flow: &FlowInfo{Qos: &QoS{Timeout: 120e3}}},
		{Code: Code_LIST_NAMES},
	}
	for _, m := range reqs {
		if err := cli.Send(m, nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range reqs { // one message per datagram, in order
		got, f, err := recvT(t, srv)
		if err != nil {
			t.Fatal(err)
		}
		if f != nil {
			t.Errorf("Recv returned descriptor %v, none was sent", f.Name())
		}
		if !proto.Equal(got, want) {
			t.Errorf("Recv = %v, want %v", got, want)
		}
	}
	reply := &Msg{Code: Code_REPLY, Names: []*NameInfo{{Name: "echo"}}}
	if err := srv.Send(reply, nil); err != nil {
		t.Fatal(err)
	}
	got, _, err := recvT(t, cli)
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(got, reply) {
		t.Errorf("reply = %v, want %v", got, reply)
	}
	cred, err := srv.Cred()
	switch {
	case runtime.GOOS != "linux":
		if !errors.Is(err, errors.ErrUnsupported) {
			t.Errorf("Cred = %v, %v; want ErrUnsupported", cred, err)
		}
	case err != nil:
		t.Errorf("Cred: %v", err)
	case cred.PID != os.Getpid() || cred.UID != os.Getuid() || cred.GID != os.Getgid():
		t.Errorf("Cred = %+v, want pid %d uid %d gid %d", cred, os.Getpid(), os.Getuid(), os.Getgid())
	}
	cli.Close()
	if m, _, err := recvT(t, srv); !isEnd(err) {
		t.Errorf("Recv after the peer closed = %v, %v; want the end of the connection", m, err)
	}
}

func TestConnPassesDescriptor(t *testing.T) {
	cli, srv := pair(t)
	r, w := pipe(t)
	if err := srv.Send(&Msg{Code: Code_REPLY, Flow: &FlowInfo{Id: 1}}, w); err != nil {
		t.Fatal(err)
	}
	w.Close()
	m, f, err := recvT(t, cli)
	if err != nil {
		t.Fatal(err)
	}
	if m.GetFlow().GetId() != 1 || f == nil {
		t.Fatalf("Recv = %v with file %v, want flow 1 with a descriptor", m, f)
	}
	if _, err := f.Write([]byte("through the descriptor")); err != nil {
		t.Fatal(err)
	}
	f.Close()
	r.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(r)
	if err != nil || string(b) != "through the descriptor" {
		t.Fatalf("pipe read = %q, %v; want the text then end of file", b, err)
	}
}

// sendPipes sends LIST_NAMES with the write ends of k pipes and closes its
// own copies; it returns the read ends.
func sendPipes(t *testing.T, cli *net.UnixConn, k int) []*os.File {
	t.Helper()
	var rs, ws []*os.File
	var fds []int
	for range k {
		r, w := pipe(t)
		rs, ws = append(rs, r), append(ws, w)
		fds = append(fds, int(w.Fd()))
	}
	b, _ := proto.Marshal(&Msg{Code: Code_LIST_NAMES})
	if _, _, err := cli.WriteMsgUnix(b, syscall.UnixRights(fds...), nil); err != nil {
		t.Fatal(err)
	}
	for _, w := range ws {
		w.Close()
	}
	return rs
}

// TestConnKeepsOneDescriptor: a message with several descriptors yields
// the first; the others are closed, not leaked.
func TestConnKeepsOneDescriptor(t *testing.T) {
	cli, srv := rawPair(t)
	rs := sendPipes(t, cli, 3)
	m, f, err := recvT(t, srv)
	if err != nil {
		t.Fatal(err)
	}
	if m.GetCode() != Code_LIST_NAMES || f == nil {
		t.Fatalf("Recv = %v with file %v, want LIST_NAMES with a descriptor", m, f)
	}
	expectEOF(t, rs[1])
	expectEOF(t, rs[2])
	if _, err := f.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	f.Close()
	rs[0].SetReadDeadline(time.Now().Add(5 * time.Second))
	if got, err := io.ReadAll(rs[0]); err != nil || string(got) != "x" {
		t.Fatalf("first pipe read = %q, %v; want x then end of file", got, err)
	}
}

// paddedMsg returns the encoding of a valid message of exactly size bytes.
func paddedMsg(t *testing.T, size int) []byte {
	t.Helper()
	m := &Msg{Code: Code_LIST_NAMES}
	for pad := size; pad > 0; pad-- {
		m.Detail = strings.Repeat("x", pad)
		if n := proto.Size(m); n == size {
			b, err := proto.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			return b
		} else if n < size {
			break
		}
	}
	t.Fatalf("no padding gives a %d-byte message", size)
	return nil
}

func TestConnMaxMsg(t *testing.T) {
	cli, srv := rawPair(t)
	b := paddedMsg(t, MaxMsg)
	if _, err := cli.Write(b); err != nil {
		t.Fatal(err)
	}
	m, _, err := recvT(t, srv)
	if err != nil {
		t.Fatalf("Recv of a %d-byte message: %v", MaxMsg, err)
	}
	want := new(Msg)
	if err := proto.Unmarshal(b, want); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(m, want) {
		t.Errorf("Recv = code %v with %d detail bytes, want code %v with %d", m.GetCode(), len(m.GetDetail()), want.GetCode(), len(want.GetDetail()))
	}
}

func TestConnSendRefusesOversize(t *testing.T) {
	cli, _ := pair(t)
	err := cli.Send(&Msg{Code: Code_LIST_NAMES, Detail: strings.Repeat("x", MaxMsg)}, nil)
	if !errors.Is(err, errs.ErrMsgSize) {
		t.Fatalf("Send of an oversize message = %v, want errs.ErrMsgSize", err)
	}
}

// TestConnRejectsTruncated: a datagram longer than MaxMsg is an error even
// if it would decode, its descriptor is closed, and the connection goes on.
func TestConnRejectsTruncated(t *testing.T) {
	for _, size := range []int{MaxMsg + 1, MaxMsg + 1000, 2 * MaxMsg} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			cli, srv := rawPair(t)
			r, w := pipe(t)
			if _, _, err := cli.WriteMsgUnix(paddedMsg(t, size), syscall.UnixRights(int(w.Fd())), nil); err != nil {
				t.Fatal(err)
			}
			w.Close()
			m, f, err := recvT(t, srv)
			if !errors.Is(err, errTruncated) || m != nil || f != nil {
				t.Fatalf("Recv of %d bytes = %v, %v, %v; want errTruncated", size, m, f, err)
			}
			expectEOF(t, r)
			next := &Msg{Code: Code_LIST_FLOWS}
			b, _ := proto.Marshal(next)
			if _, err := cli.Write(b); err != nil {
				t.Fatal(err)
			}
			if m, _, err := recvT(t, srv); err != nil || !proto.Equal(m, next) {
				t.Fatalf("Recv after a truncated message = %v, %v; want %v", m, err, next)
			}
		})
	}
}

// TestConnRejectsTooManyDescriptors: more descriptors than Recv makes room
// for truncate the control data; the message is refused and every
// descriptor that arrived is closed.
func TestConnRejectsTooManyDescriptors(t *testing.T) {
	cli, srv := rawPair(t)
	rs := sendPipes(t, cli, 8)
	if m, f, err := recvT(t, srv); !errors.Is(err, errTruncated) {
		t.Fatalf("Recv with %d descriptors = %v, %v, %v; want errTruncated", len(rs), m, f, err)
	}
	for _, r := range rs {
		expectEOF(t, r)
	}
}

func TestConnRejectsGarbage(t *testing.T) {
	unknown, _ := proto.Marshal(&Msg{Code: Code(99), Name: "x"})
	noCode, _ := proto.Marshal(&Msg{Name: "x", Flow: &FlowInfo{Id: 3}})
	tests := []struct {
		name string
		b    []byte
	}{
		{"not protobuf", []byte{0xff, 0xff, 0xff, 0xff}},
		{"text", []byte("GET / HTTP/1.1\r\n\r\n")},
		{"unknown code", unknown},
		{"no code", noCode},
		{"truncated field", []byte{0x08, 0x11, 0x32, 0x7f, 'a'}},
		{"invalid utf-8", []byte{0x08, 0x11, 0x32, 0x01, 0xff}},
		{"zero bytes", make([]byte, 64)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cli, srv := rawPair(t)
			r, w := pipe(t)
			if _, _, err := cli.WriteMsgUnix(tt.b, syscall.UnixRights(int(w.Fd())), nil); err != nil {
				t.Fatal(err)
			}
			w.Close()
			if m, f, err := recvT(t, srv); err == nil || m != nil || f != nil {
				t.Fatalf("Recv(%x) = %v, %v, %v; want an error only", tt.b, m, f, err)
			}
			expectEOF(t, r)
			next := &Msg{Code: Code_LIST_FLOWS}
			b, _ := proto.Marshal(next)
			if _, err := cli.Write(b); err != nil {
				t.Fatal(err)
			}
			if m, _, err := recvT(t, srv); err != nil || !proto.Equal(m, next) {
				t.Fatalf("Recv after garbage = %v, %v; want %v", m, err, next)
			}
		})
	}
}

// TestConnEmptyDatagram: on SOCK_SEQPACKET an empty datagram reads like
// the end of the connection, and Recv says so.
func TestConnEmptyDatagram(t *testing.T) {
	cli, srv := rawPair(t)
	if _, err := cli.Write(nil); err != nil {
		t.Fatal(err)
	}
	if m, f, err := recvT(t, srv); !isEnd(err) || m != nil || f != nil {
		t.Fatalf("Recv of an empty datagram = %v, %v, %v; want the end of the connection", m, f, err)
	}
}

// sendEmptyWithFD sends a datagram of zero bytes that carries fd.
// WriteMsgUnix cannot: on a socket that is not SOCK_DGRAM it adds a byte.
func sendEmptyWithFD(t *testing.T, c *net.UnixConn, fd int) {
	t.Helper()
	oob := syscall.UnixRights(fd)
	msg := syscall.Msghdr{Control: &oob[0]}
	msg.SetControllen(len(oob))
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var errno syscall.Errno
	if err := rc.Write(func(s uintptr) bool {
		_, _, errno = syscall.Syscall(syscall.SYS_SENDMSG, s, uintptr(unsafe.Pointer(&msg)), 0)
		return errno != syscall.EAGAIN
	}); err != nil {
		t.Fatal(err)
	}
	runtime.KeepAlive(oob)
	if errno != 0 {
		t.Fatalf("sendmsg: %v", errno)
	}
}

// TestConnEmptyDatagramWithDescriptor: a datagram of no bytes but with a
// descriptor is refused, whatever Recv calls it, and the descriptor is
// closed, not leaked.
func TestConnEmptyDatagramWithDescriptor(t *testing.T) {
	cli, srv := rawPair(t)
	r, w := pipe(t)
	sendEmptyWithFD(t, cli, int(w.Fd()))
	w.Close()
	m, f, err := recvT(t, srv)
	if err == nil || m != nil || f != nil {
		t.Fatalf("Recv of a descriptor alone = %v, %v, %v; want an error only", m, f, err)
	}
	t.Logf("Recv of a descriptor alone: %v", err)
	expectEOF(t, r)
}

func TestListenRefusesLiveSocket(t *testing.T) {
	path := sockPath(t)
	listen(t, path)
	ln, err := Listen(path)
	if err == nil {
		ln.Close()
		t.Fatal("second Listen on a live socket succeeded")
	}
	if !errors.Is(err, errs.ErrExist) || !strings.Contains(err.Error(), path) {
		t.Errorf("second Listen = %v, want errs.ErrExist naming %s", err, path)
	}
	c, err := Dial(context.Background(), path) // the first node is untouched
	if err != nil {
		t.Fatalf("Dial the first listener after the refused Listen: %v", err)
	}
	c.Close()
}

func TestListenReplacesStaleSocket(t *testing.T) {
	path := sockPath(t)
	old, err := net.ListenUnix("unixpacket", &net.UnixAddr{Name: path, Net: "unixpacket"})
	if err != nil {
		t.Fatal(err)
	}
	old.SetUnlinkOnClose(false)
	old.Close() // a node that died: its socket file stays
	if fi, err := os.Lstat(path); err != nil || fi.Mode()&os.ModeSocket == 0 {
		t.Fatalf("stale socket file: %v, %v", fi, err)
	}
	ln := listen(t, path)
	errc := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			c.Close()
		}
		errc <- err
	}()
	c, err := Dial(context.Background(), path)
	if err != nil {
		t.Fatalf("Dial after replacing the stale socket: %v", err)
	}
	c.Close()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	ln.Close()
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket file after Close: %v, want it removed", err)
	}
}

func TestListenRefusesNonSocket(t *testing.T) {
	t.Run("file", func(t *testing.T) {
		path := sockPath(t)
		if err := os.WriteFile(path, []byte("precious"), 0o600); err != nil {
			t.Fatal(err)
		}
		ln, err := Listen(path)
		if err == nil {
			ln.Close()
			t.Fatal("Listen over a regular file succeeded")
		}
		if !strings.Contains(err.Error(), path) {
			t.Errorf("Listen = %v, want it to name %s", err, path)
		}
		if b, err := os.ReadFile(path); err != nil || string(b) != "precious" {
			t.Errorf("file after the refused Listen = %q, %v; want it untouched", b, err)
		}
	})
	t.Run("dir", func(t *testing.T) {
		path := sockPath(t)
		if err := os.Mkdir(path, 0o700); err != nil {
			t.Fatal(err)
		}
		if ln, err := Listen(path); err == nil {
			ln.Close()
			t.Fatal("Listen over a directory succeeded")
		} else if !strings.Contains(err.Error(), path) {
			t.Errorf("Listen = %v, want it to name %s", err, path)
		}
		if fi, err := os.Stat(path); err != nil || !fi.IsDir() {
			t.Errorf("directory after the refused Listen: %v, %v", fi, err)
		}
	})
}

func TestDialNoNode(t *testing.T) {
	path := sockPath(t)
	_, err := Dial(context.Background(), path)
	if !errors.Is(err, errs.ErrNode) || !strings.Contains(err.Error(), path) {
		t.Fatalf("Dial with no node = %v, want errs.ErrNode naming %s", err, path)
	}
}

// serveOne answers the first request on ln with reply and f, then closes
// f. The channel yields the request and is closed once the client hung up.
func serveOne(t *testing.T, ln *Listener, reply *Msg, f *os.File) <-chan *Msg {
	t.Helper()
	reqc := make(chan *Msg, 1)
	go func() {
		defer close(reqc)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		m, _, err := c.Recv()
		if err != nil {
			return
		}
		reqc <- m
		c.Send(reply, f)
		if f != nil {
			f.Close()
		}
		c.Recv() // until the client hangs up
	}()
	return reqc
}

func TestCallErrorReplyClosesDescriptor(t *testing.T) {
	path := sockPath(t)
	ln := listen(t, path)
	r, w := pipe(t)
	reply := Reply(errs.ErrExist)
	reqc := serveOne(t, ln, reply, w)
	m, f, err := Call(context.Background(), path, &Msg{Code: Code_CREATE_NAME, NameInfo: &NameInfo{Name: "x"}})
	if !errors.Is(err, errs.ErrExist) || f != nil || !proto.Equal(m, reply) {
		t.Fatalf("Call = %v, %v, %v; want the reply, no file and errs.ErrExist", m, f, err)
	}
	if req := <-reqc; req.GetNameInfo().GetName() != "x" {
		t.Errorf("request = %v", req)
	}
	for range reqc { // the server is done with w
	}
	expectEOF(t, r)
}

// TestCallCancel: cancelling ctx ends Call with the context's error and
// hangs up, which is how a request is cancelled at the node.
func TestCallCancel(t *testing.T) {
	path := sockPath(t)
	ln := listen(t, path)
	hungUp := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			hungUp <- err
			return
		}
		defer c.Close()
		c.Recv()             // the request; never answered
		_, _, err = c.Recv() // the client hanging up
		hungUp <- err
	}()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, _, err := Call(ctx, path, &Msg{Code: Code_FLOW_ACCEPT})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Call = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Call took %v after cancel", d)
	}
	select {
	case err := <-hungUp:
		if !isEnd(err) {
			t.Errorf("server Recv after cancel = %v, want the end of the connection", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the server never saw the client hang up")
	}
}

func TestCallDeadline(t *testing.T) {
	path := sockPath(t)
	ln := listen(t, path)
	done := make(chan struct{})
	t.Cleanup(func() { <-done })
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.Recv()
		c.Recv()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, _, err := Call(ctx, path, &Msg{Code: Code_FLOW_ACCEPT}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Call = %v, want context.DeadlineExceeded", err)
	}
}

func TestCallNoReply(t *testing.T) {
	path := sockPath(t)
	ln := listen(t, path)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		c.Recv()
		c.Close() // hangs up without answering
	}()
	_, _, err := Call(context.Background(), path, &Msg{Code: Code_LIST_NAMES})
	if !errors.Is(err, errs.ErrNode) {
		t.Fatalf("Call answered by a hang-up = %v, want errs.ErrNode", err)
	}
}
