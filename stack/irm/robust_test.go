package irm_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"google.golang.org/protobuf/proto"

	"github.com/o7s/ouroboros/internal/wait"
	"github.com/o7s/ouroboros/stack/ctl"
	"github.com/o7s/ouroboros/stack/dev"
	"github.com/o7s/ouroboros/stack/errs"
	"github.com/o7s/ouroboros/stack/irm"
	"github.com/o7s/ouroboros/stack/qos"
	"github.com/o7s/ouroboros/stack/seqpkt"
)

// Bad-input robustness of the node's control server: whatever a local
// process sends, the node stays up, answers the next request, and leaks
// no flow, name, process entry or descriptor.

// rawDial connects to the node's control socket without the ctl framing,
// to send what a well-behaved client never would.
func rawDial(t *testing.T, sock string) *net.UnixConn {
	t.Helper()
	c, err := net.DialUnix("unixpacket", nil, &net.UnixAddr{Name: sock, Net: "unixpacket"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func rawWrite(t *testing.T, c *net.UnixConn, b []byte, files ...*os.File) {
	t.Helper()
	var oob []byte
	if len(files) > 0 {
		fds := make([]int, len(files))
		for i, f := range files {
			fds[i] = int(f.Fd())
		}
		oob = syscall.UnixRights(fds...)
	}
	if _, _, err := c.WriteMsgUnix(b, oob, nil); err != nil {
		t.Fatalf("write %d bytes: %v", len(b), err)
	}
}

func rawSend(t *testing.T, c *net.UnixConn, m *ctl.Msg, files ...*os.File) {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	rawWrite(t, c, b, files...)
}

// rawRecv reads one message within 5 s. It returns io.EOF when the node
// hung up.
func rawRecv(c *net.UnixConn) (*ctl.Msg, *os.File, error) {
	buf := make([]byte, ctl.MaxMsg+1)
	oob := make([]byte, syscall.CmsgSpace(4*4))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
	var f *os.File
	if oobn > 0 {
		cmsgs, _ := syscall.ParseSocketControlMessage(oob[:oobn])
		for _, cm := range cmsgs {
			fds, _ := syscall.ParseUnixRights(&cm)
			for _, fd := range fds {
				if f == nil {
					f = os.NewFile(uintptr(fd), "from-node")
				} else {
					syscall.Close(fd)
				}
			}
		}
	}
	if err == nil && n == 0 {
		err = io.EOF
	}
	if err != nil {
		if f != nil {
			f.Close()
		}
		return nil, nil, err
	}
	m, err := ctl.Decode(buf[:n])
	return m, f, err
}

// rawCall sends m on c and returns the reply, failing the test if there is
// none.
func rawCall(t *testing.T, c *net.UnixConn, m *ctl.Msg) (*ctl.Msg, *os.File) {
	t.Helper()
	rawSend(t, c, m)
	r, f, err := rawRecv(c)
	if err != nil {
		t.Fatalf("no reply to %v: %v", m.GetCode(), err)
	}
	if f != nil {
		t.Cleanup(func() { f.Close() })
	}
	return r, f
}

// expectHangUp checks that the node closes c without replying.
func expectHangUp(t *testing.T, c *net.UnixConn) {
	t.Helper()
	if m, _, err := rawRecv(c); !errors.Is(err, io.EOF) {
		t.Fatalf("node answered %v, %v; want it to hang up", m, err)
	}
}

// pipeTo returns a pipe for descriptor-passing tests.
func pipeTo(t *testing.T) (r, w *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	return r, w
}

// expectClosed checks that every copy of r's write end is closed: whoever
// received one closed it.
func expectClosed(t *testing.T, r *os.File) {
	t.Helper()
	r.SetReadDeadline(time.Now().Add(2 * time.Second))
	if b, err := io.ReadAll(r); err != nil {
		t.Errorf("pipe read = %q, %v; want end of file: the node kept a descriptor it was sent", b, err)
	}
}

// openFDs counts the process's open descriptors (node and clients alike),
// or -1 without /proc.
func openFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}

// waitFDs waits until the process has at most want descriptors open.
func waitFDs(t *testing.T, want int) {
	t.Helper()
	if want < 0 {
		return
	}
	got := openFDs()
	if !wait.Until(5*time.Second, func() bool { got = openFDs(); return got <= want }) {
		var links []string
		ents, _ := os.ReadDir("/proc/self/fd")
		for _, e := range ents {
			l, _ := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
			links = append(links, e.Name()+"->"+l)
		}
		t.Errorf("%d descriptors open, want at most %d: %s", got, want, strings.Join(links, " "))
	}
}

// checkHealthy checks that the node answers a request as its registry says,
// and that no flow is left.
func checkHealthy(t *testing.T, n *irm.Node, sock string) {
	t.Helper()
	m, _, err := ctl.Call(ctxT(t, 5*time.Second), sock, &ctl.Msg{Code: ctl.Code_LIST_NAMES})
	if err != nil {
		t.Fatalf("LIST_NAMES: %v", err)
	}
	var got, want []string
	for _, x := range m.GetNames() {
		got = append(got, x.GetName())
	}
	for _, x := range n.ListNames() {
		want = append(want, x.Name)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("LIST_NAMES = %v, registry has %v", got, want)
	}
	waitFlows(t, n, 0)
}

// notAttached checks that the node holds no process entry for pid.
func notAttached(t *testing.T, n *irm.Node, pid int) {
	t.Helper()
	if err := n.BindProcess(pid, "probe"); !errors.Is(err, errs.ErrNotFound) {
		t.Errorf("BindProcess(%d) = %v, want ErrNotFound: the node still holds the process", pid, err)
	}
}

// waitDetached waits until the node has reaped process pid.
func waitDetached(t *testing.T, n *irm.Node, pid int) {
	t.Helper()
	if !wait.Until(5*time.Second, func() bool { return errors.Is(n.BindProcess(pid, "probe"), errs.ErrNotFound) }) {
		t.Fatalf("the node still holds process %d", pid)
	}
}

// paddedMsg is a valid LIST_NAMES of at least size bytes.
func paddedMsg(size int) []byte {
	b, _ := proto.Marshal(&ctl.Msg{Code: ctl.Code_LIST_NAMES, Detail: strings.Repeat("x", size)})
	return b
}

func TestNodeSurvivesBadInput(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "irm.sock")
	n := startNode(t, irm.Config{Sock: sock})
	base := openFDs()
	random := make([]byte, 4096)
	rand.NewChaCha8([32]byte{7}).Read(random)
	unknown, _ := proto.Marshal(&ctl.Msg{Code: ctl.Code(99), Name: "x"})
	noCode, _ := proto.Marshal(&ctl.Msg{Name: "x", Dst: "y", Flow: &ctl.FlowInfo{Id: 1}})
	// Each is the first datagram of a connection; the node hangs up.
	hangUps := []struct {
		name string
		b    []byte
	}{
		{"garbage", []byte{0xff, 0xfe, 0xfd, 0xfc, 0xfb}},
		{"text", []byte("GET / HTTP/1.1\r\nHost: onode\r\n\r\n")},
		{"random", random},
		{"empty", nil},
		{"zeros", make([]byte, 512)},
		{"oversize", paddedMsg(ctl.MaxMsg + 1)},
		{"huge", paddedMsg(2 * ctl.MaxMsg)},
		{"unknown code", unknown},
		{"no code", noCode},
		{"invalid utf-8", []byte{0x08, 0x14, 0x92, 0x01, 0x02, 0xc3, 0x28}},
		{"truncated", []byte{0x08, 0x14, 0x92, 0x01, 0x7f, 'e'}},
	}
	for _, tt := range hangUps {
		t.Run(tt.name, func(t *testing.T) {
			c := rawDial(t, sock)
			rawWrite(t, c, tt.b)
			expectHangUp(t, c)
			if len(tt.b) == 0 {
				return // see TestNodeClosesDescriptorOfEmptyDatagram
			}
			r, w := pipeTo(t) // and again with a descriptor attached
			c = rawDial(t, sock)
			rawWrite(t, c, tt.b, w)
			w.Close()
			expectHangUp(t, c)
			expectClosed(t, r)
		})
	}
	t.Run("silent", func(t *testing.T) {
		for range 100 {
			c, err := net.DialUnix("unixpacket", nil, &net.UnixAddr{Name: sock, Net: "unixpacket"})
			if err != nil {
				t.Fatal(err)
			}
			c.Close()
		}
	})
	t.Run("request with descriptors", func(t *testing.T) {
		c := rawDial(t, sock)
		var rs, ws []*os.File
		for range 3 {
			r, w := pipeTo(t)
			rs, ws = append(rs, r), append(ws, w)
		}
		rawSend(t, c, &ctl.Msg{Code: ctl.Code_LIST_NAMES}, ws...)
		for _, w := range ws {
			w.Close()
		}
		m, f, err := rawRecv(c)
		if err != nil || f != nil || ctl.FromReply(m) != nil {
			t.Fatalf("reply = %v, %v, %v; want a plain answer", m, f, err)
		}
		for _, r := range rs {
			expectClosed(t, r)
		}
	})
	t.Run("reply as a request", func(t *testing.T) {
		c := rawDial(t, sock)
		m, _ := rawCall(t, c, &ctl.Msg{Code: ctl.Code_REPLY, Result: -1})
		if err := ctl.FromReply(m); !errors.Is(err, errors.ErrUnsupported) {
			t.Errorf("reply = %v, want ErrUnsupported", err)
		}
		expectHangUp(t, c)
	})
	for _, prog := range []string{"", strings.Repeat("p", irm.MaxName+1)} {
		t.Run(fmt.Sprintf("announce %d-byte program", len(prog)), func(t *testing.T) {
			c := rawDial(t, sock)
			m, _ := rawCall(t, c, &ctl.Msg{Code: ctl.Code_PROC_ANNOUNCE, Prog: prog})
			if err := ctl.FromReply(m); !errors.Is(err, errs.ErrInvalid) {
				t.Errorf("reply = %v, want ErrInvalid", err)
			}
			expectHangUp(t, c)
			notAttached(t, n, os.Getpid())
		})
	}
	t.Run("session with descriptors", func(t *testing.T) {
		c := rawDial(t, sock)
		r1, w1 := pipeTo(t)
		rawSend(t, c, &ctl.Msg{Code: ctl.Code_PROC_ANNOUNCE, Prog: "robust"}, w1)
		w1.Close()
		if m, _, err := rawRecv(c); err != nil || ctl.FromReply(m) != nil {
			t.Fatalf("announce reply = %v, %v", m, err)
		}
		expectClosed(t, r1)
		r2, w2 := pipeTo(t)
		rawSend(t, c, &ctl.Msg{Code: ctl.Code_LIST_NAMES}, w2) // sessions carry no requests
		w2.Close()
		expectClosed(t, r2)
		if err := n.BindProcess(os.Getpid(), "robust"); err != nil {
			t.Fatalf("the session's process is gone: %v", err)
		}
		c.Close()
		waitDetached(t, n, os.Getpid())
	})
	t.Run("session then garbage", func(t *testing.T) {
		c := rawDial(t, sock)
		if m, _ := rawCall(t, c, &ctl.Msg{Code: ctl.Code_PROC_ANNOUNCE, Prog: "robust"}); ctl.FromReply(m) != nil {
			t.Fatalf("announce reply = %v", m)
		}
		rawWrite(t, c, []byte{0xff, 0xff})
		expectHangUp(t, c) // the node drops the session and reaps the process
		notAttached(t, n, os.Getpid())
	})
	n.DestroyName("robust")
	n.DestroyName("probe")
	checkHealthy(t, n, sock)
	if names := n.ListNames(); len(names) != 0 {
		t.Errorf("names after bad input = %+v, want none", names)
	}
	waitFDs(t, base)
}

// TestNodeClosesDescriptorOfEmptyDatagram: a datagram of no bytes with a
// descriptor attached must not leave the descriptor open in the node.
func TestNodeClosesDescriptorOfEmptyDatagram(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "irm.sock")
	n := startNode(t, irm.Config{Sock: sock})
	r, w := pipeTo(t)
	c := rawDial(t, sock)
	sendEmptyWithFD(t, c, w)
	w.Close()
	expectHangUp(t, c)
	expectClosed(t, r)
	checkHealthy(t, n, sock)
}

// sendEmptyWithFD sends a datagram of zero bytes that carries f.
// WriteMsgUnix cannot: on a socket that is not SOCK_DGRAM it adds a byte.
func sendEmptyWithFD(t *testing.T, c *net.UnixConn, f *os.File) {
	t.Helper()
	oob := syscall.UnixRights(int(f.Fd()))
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

// TestRequestConnDescriptorClosed: a second message on a request
// connection cancels the request; a descriptor it carries is closed at
// once, not left to the garbage collector.
func TestRequestConnDescriptorClosed(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "irm.sock")
	n := startNode(t, irm.Config{Sock: sock})
	attach(t, n, sock, "srv")
	defer debug.SetGCPercent(debug.SetGCPercent(-1)) // no finalizer closes it for the node
	c := rawDial(t, sock)
	rawSend(t, c, &ctl.Msg{Code: ctl.Code_FLOW_ACCEPT, TimeoutNs: uint64(5 * time.Second)})
	waitFlows(t, n, 1)
	r, w := pipeTo(t)
	rawSend(t, c, &ctl.Msg{Code: ctl.Code_LIST_NAMES}, w)
	w.Close()
	m, _, err := rawRecv(c)
	if err != nil || !errors.Is(ctl.FromReply(m), context.Canceled) {
		t.Fatalf("reply to the accept = %v, %v; want it cancelled", m, err)
	}
	expectClosed(t, r)
	waitFlows(t, n, 0)
}

func TestAllocUnknownNameFailsFast(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "irm.sock")
	n := startNode(t, irm.Config{Sock: sock, AllocTimeout: 30 * time.Second, ReqArrTimeout: 30 * time.Second})
	cli := attach(t, n, sock, "cli")
	if err := n.CreateName("idle", ctl.RoundRobin); err != nil { // exists, nobody serves it
		t.Fatal(err)
	}
	for _, dst := range []string{"nobody", "idle"} {
		t.Run(dst, func(t *testing.T) {
			start := time.Now()
			_, _, err := ctl.Call(ctxT(t, 30*time.Second), sock, &ctl.Msg{Code: ctl.Code_FLOW_ALLOC, Dst: dst, TimeoutNs: uint64(20 * time.Second)})
			if !errors.Is(err, errs.ErrIPCP) {
				t.Errorf("FLOW_ALLOC %s = %v, want ErrIPCP", dst, err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("FLOW_ALLOC %s took %v with a 20 s timeout, want an answer at once", dst, d)
			}
			start = time.Now()
			if _, err := cli.Alloc(ctxT(t, 20*time.Second), dst, qos.Raw); !errors.Is(err, dev.ErrIPCP) {
				t.Errorf("Alloc %s = %v, want ErrIPCP", dst, err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("Alloc %s took %v, want an answer at once", dst, d)
			}
			waitFlows(t, n, 0)
		})
	}
	for _, dst := range []string{"", strings.Repeat("n", irm.MaxName+1)} {
		if _, err := cli.Alloc(ctxT(t, 5*time.Second), dst, qos.Raw); !errors.Is(err, dev.ErrName) {
			t.Errorf("Alloc of a %d-byte name = %v, want ErrName", len(dst), err)
		}
	}
	checkHealthy(t, n, sock)
}

func TestAcceptDeadlineLeavesNoFlow(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "irm.sock")
	n := startNode(t, irm.Config{Sock: sock})
	srv := attach(t, n, sock, "srv")
	cli := attach(t, n, sock, "cli")
	if err := n.BindProcess(srv.PID(), "svc"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := srv.Accept(ctxT(t, 200*time.Millisecond)); !errors.Is(err, dev.ErrTimeout) {
		t.Fatalf("Accept = %v, want ErrTimeout", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Accept with a 200 ms deadline took %v", d)
	}
	waitFlows(t, n, 0)
	// The node's own timeout, with no deadline on the client side.
	_, _, err := ctl.Call(ctxT(t, 5*time.Second), sock, &ctl.Msg{Code: ctl.Code_FLOW_ACCEPT, TimeoutNs: uint64(100 * time.Millisecond)})
	if !errors.Is(err, errs.ErrTimeout) || !strings.Contains(err.Error(), "svc") {
		t.Fatalf("FLOW_ACCEPT with a 100 ms timeout = %v, want ErrTimeout naming svc", err)
	}
	waitFlows(t, n, 0)
	// No stale acceptor is left for an allocation to find. (A raw call:
	// its reply comes once the node is done with the request.)
	m, f, err := ctl.Call(ctxT(t, 5*time.Second), sock, &ctl.Msg{Code: ctl.Code_FLOW_ALLOC, Dst: "svc", TimeoutNs: uint64(300 * time.Millisecond)})
	if err == nil {
		f.Close()
		t.Fatalf("FLOW_ALLOC found an acceptor that had timed out: %v", m.GetFlow())
	}
	waitFlows(t, n, 0)
	errc := echoOnce(t, srv)
	fl, err := cli.Alloc(ctxT(t, 5*time.Second), "svc", qos.Raw)
	if err != nil {
		t.Fatal(err)
	}
	checkEcho(t, fl, 3)
	fl.Close()
	if err := <-errc; !errors.Is(err, dev.ErrFlowDown) {
		t.Errorf("server after the client closed = %v, want ErrFlowDown", err)
	}
	checkHealthy(t, n, sock)
}

// TestCancelBlockingCalls: a client that gives up on a blocking Accept or
// Alloc leaves nothing behind at the node.
func TestCancelBlockingCalls(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "irm.sock")
	n := startNode(t, irm.Config{Sock: sock, ReqArrTimeout: 30 * time.Second, AllocTimeout: 30 * time.Second})
	srv := attach(t, n, sock, "srv")
	cli := attach(t, n, sock, "cli")
	if err := n.BindProcess(srv.PID(), "svc"); err != nil {
		t.Fatal(err)
	}
	t.Run("accept", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() {
			f, err := srv.Accept(ctx)
			if err == nil {
				f.Close()
			}
			errc <- err
		}()
		waitFlows(t, n, 1) // the pending accept
		cancel()
		select {
		case err := <-errc:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("cancelled Accept = %v, want context.Canceled", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Accept did not return after cancel")
		}
		waitFlows(t, n, 0)
	})
	t.Run("accept hang-up", func(t *testing.T) { // the node's view, deterministic
		c := rawDial(t, sock)
		rawSend(t, c, &ctl.Msg{Code: ctl.Code_FLOW_ACCEPT})
		waitFlows(t, n, 1)
		c.CloseWrite() // the node reads the end of the request connection
		m, _, err := rawRecv(c)
		if err != nil || !errors.Is(ctl.FromReply(m), context.Canceled) {
			t.Fatalf("reply after hang-up = %v, %v; want context.Canceled", m, err)
		}
		waitFlows(t, n, 0)
	})
	t.Run("alloc hang-up", func(t *testing.T) {
		c := rawDial(t, sock)
		rawSend(t, c, &ctl.Msg{Code: ctl.Code_FLOW_ALLOC, Dst: "svc"})
		c.CloseWrite()
		m, _, err := rawRecv(c)
		if err != nil || !errors.Is(ctl.FromReply(m), context.Canceled) {
			t.Fatalf("reply after hang-up = %v, %v; want context.Canceled", m, err)
		}
		// The node no longer waits for an acceptor on its behalf: an
		// accept now finds no request.
		if f, err := srv.Accept(ctxT(t, 300*time.Millisecond)); !errors.Is(err, dev.ErrTimeout) {
			if f != nil {
				f.Close()
			}
			t.Fatalf("Accept after the allocator hung up = %v, want ErrTimeout", err)
		}
		waitFlows(t, n, 0)
	})
	errc := echoOnce(t, srv)
	f, err := cli.Alloc(ctxT(t, 5*time.Second), "svc", qos.Raw)
	if err != nil {
		t.Fatal(err)
	}
	checkEcho(t, f, 3)
	f.Close()
	<-errc
	checkHealthy(t, n, sock)
}

// TestCancelBlockingAlloc: a client that gives up on an Alloc waiting for
// an acceptor gets context.Canceled at once. (That the node drops the
// request is checked deterministically by TestCancelBlockingCalls.)
func TestCancelBlockingAlloc(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "irm.sock")
	n := startNode(t, irm.Config{Sock: sock, ReqArrTimeout: 30 * time.Second, AllocTimeout: 30 * time.Second})
	srv := attach(t, n, sock, "srv")
	cli := attach(t, n, sock, "cli")
	if err := n.BindProcess(srv.PID(), "svc"); err != nil { // bound, never accepting
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	if f, err := cli.Alloc(ctx, "svc", qos.Raw); !errors.Is(err, context.Canceled) {
		if f != nil {
			f.Close()
		}
		t.Fatalf("cancelled Alloc = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("cancelled Alloc took %v", d)
	}
	checkHealthy(t, n, sock)
}

// directPair allocates a direct flow from cli to srv, bound to name.
func directPair(t *testing.T, srv, cli *dev.Client, name string) (a, z *dev.Flow) {
	t.Helper()
	type res struct {
		f   *dev.Flow
		err error
	}
	ch := make(chan res, 1)
	go func() {
		f, err := srv.Accept(ctxT(t, 5*time.Second))
		ch <- res{f, err}
	}()
	a, err := cli.Alloc(ctxT(t, 5*time.Second), name, qos.Raw)
	if err != nil {
		t.Fatal(err)
	}
	r := <-ch
	if r.err != nil {
		t.Fatal(r.err)
	}
	return a, r.f
}

func TestDoubleClose(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "irm.sock")
	n := startNode(t, irm.Config{Sock: sock})
	srv := attach(t, n, sock, "srv")
	cli := attach(t, n, sock, "cli")
	if err := n.BindProcess(srv.PID(), "svc"); err != nil {
		t.Fatal(err)
	}
	t.Run("both ends twice", func(t *testing.T) {
		a, z := directPair(t, srv, cli, "svc")
		id := a.ID()
		for _, f := range []*dev.Flow{a, z} {
			if err := f.Close(); err != nil {
				t.Errorf("first Close: %v", err)
			}
			if err := f.Close(); !errors.Is(err, dev.ErrFlowClosed) || !errors.Is(err, net.ErrClosed) {
				t.Errorf("second Close = %v, want ErrFlowClosed", err)
			}
			if _, err := f.Write([]byte("x")); !errors.Is(err, dev.ErrFlowClosed) {
				t.Errorf("Write after Close = %v, want ErrFlowClosed", err)
			}
			if _, err := f.Read(make([]byte, 8)); !errors.Is(err, dev.ErrFlowClosed) {
				t.Errorf("Read after Close = %v, want ErrFlowClosed", err)
			}
		}
		waitFlows(t, n, 0)
		_, _, err := ctl.Call(ctxT(t, 5*time.Second), sock, &ctl.Msg{Code: ctl.Code_FLOW_DEALLOC, Flow: &ctl.FlowInfo{Id: uint32(id)}})
		if !errors.Is(err, errs.ErrNotAllocated) {
			t.Errorf("FLOW_DEALLOC of a closed flow = %v, want ErrNotAllocated", err)
		}
	})
	t.Run("concurrent", func(t *testing.T) {
		a, z := directPair(t, srv, cli, "svc")
		var wg sync.WaitGroup
		errc := make(chan error, 16)
		for _, f := range []*dev.Flow{a, z} {
			for range 8 {
				wg.Go(func() { errc <- f.Close() })
			}
		}
		wg.Wait()
		close(errc)
		ok := 0
		for err := range errc {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, dev.ErrFlowClosed):
				t.Errorf("concurrent Close = %v", err)
			}
		}
		if ok != 2 {
			t.Errorf("%d Closes succeeded, want one per end", ok)
		}
		waitFlows(t, n, 0)
	})
	t.Run("flow to itself", func(t *testing.T) {
		a, z := directPair(t, srv, srv, "svc") // both ends in one process
		for range 2 {
			if _, _, err := ctl.Call(ctxT(t, 5*time.Second), sock, &ctl.Msg{Code: ctl.Code_FLOW_DEALLOC, Flow: &ctl.FlowInfo{Id: uint32(a.ID())}}); err != nil {
				t.Fatalf("FLOW_DEALLOC of one end: %v", err)
			}
		}
		waitFlows(t, n, 0)
		if _, _, err := ctl.Call(ctxT(t, 5*time.Second), sock, &ctl.Msg{Code: ctl.Code_FLOW_DEALLOC, Flow: &ctl.FlowInfo{Id: uint32(a.ID())}}); !errors.Is(err, errs.ErrNotAllocated) {
			t.Errorf("third FLOW_DEALLOC = %v, want ErrNotAllocated", err)
		}
		if err := a.Close(); err != nil { // the node saw it go first
			t.Errorf("Close after the node let go = %v, want nil", err)
		}
		z.Close()
	})
	checkHealthy(t, n, sock)
}

// TestForeignHelper is the helper process of foreignConns, not a test.
func TestForeignHelper(t *testing.T) {
	sock := os.Getenv("O7S_FOREIGN_SOCK")
	if sock == "" {
		t.Skip("helper process of foreignConns")
	}
	k, _ := strconv.Atoi(os.Getenv("O7S_FOREIGN_CONNS"))
	fc, err := net.FileConn(os.NewFile(3, "back"))
	if err != nil {
		t.Fatal(err)
	}
	back := fc.(*net.UnixConn)
	for range k {
		c, err := net.DialUnix("unixpacket", nil, &net.UnixAddr{Name: sock, Net: "unixpacket"})
		if err != nil {
			t.Fatal(err)
		}
		f, err := c.File()
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := back.WriteMsgUnix([]byte{1}, syscall.UnixRights(int(f.Fd())), nil); err != nil {
			t.Fatal(err)
		}
		f.Close()
		c.Close()
	}
}

// foreignConns returns k connections to the node at sock that a helper
// process opened and handed over. The node takes the identity of a
// connection from the kernel, so on these it sees the helper's pid, not
// ours: the test can act as a second application.
func foreignConns(t *testing.T, sock string, k int) (int, []*net.UnixConn) {
	t.Helper()
	syscall.ForkLock.RLock()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_SEQPACKET, 0)
	if err == nil {
		syscall.CloseOnExec(fds[0])
		syscall.CloseOnExec(fds[1])
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		t.Fatal(err)
	}
	mine, theirs := os.NewFile(uintptr(fds[0]), "foreign-parent"), os.NewFile(uintptr(fds[1]), "foreign-child")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^TestForeignHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), "O7S_FOREIGN_SOCK="+sock, "O7S_FOREIGN_CONNS="+strconv.Itoa(k),
		"GORACE="+os.Getenv("GORACE")+" atexit_sleep_ms=0") // a -race helper would linger 1 s at exit
	cmd.ExtraFiles = []*os.File{theirs}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	theirs.Close()
	fc, err := net.FileConn(mine)
	mine.Close()
	if err != nil {
		t.Fatal(err)
	}
	back := fc.(*net.UnixConn)
	defer back.Close()
	back.SetReadDeadline(time.Now().Add(10 * time.Second))
	var conns []*net.UnixConn
	buf, oob := make([]byte, 16), make([]byte, syscall.CmsgSpace(4))
	for range k {
		_, oobn, _, _, err := back.ReadMsgUnix(buf, oob)
		if err != nil {
			cmd.Wait()
			t.Fatalf("helper: %v\n%s", err, out.Bytes())
		}
		cmsgs, err := syscall.ParseSocketControlMessage(oob[:oobn])
		if err != nil || len(cmsgs) != 1 {
			t.Fatalf("helper sent %d control messages: %v", len(cmsgs), err)
		}
		got, err := syscall.ParseUnixRights(&cmsgs[0])
		if err != nil || len(got) != 1 {
			t.Fatalf("helper sent %d descriptors: %v", len(got), err)
		}
		f := os.NewFile(uintptr(got[0]), "foreign")
		c, err := net.FileConn(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		uc := c.(*net.UnixConn)
		t.Cleanup(func() { uc.Close() })
		conns = append(conns, uc)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper: %v\n%s", err, out.Bytes())
	}
	return cmd.Process.Pid, conns
}

// flowEnd wraps a flow descriptor from a raw reply.
func flowEnd(t *testing.T, f *os.File) *seqpkt.Conn {
	t.Helper()
	if f == nil {
		t.Fatal("reply carries no flow descriptor")
	}
	d, err := syscall.Dup(int(f.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	c, err := seqpkt.FromFile(os.NewFile(uintptr(d), "flow"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestDeallocOthersFlow: a process cannot deallocate a flow that is not
// its own, whatever id it names.
func TestDeallocOthersFlow(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "irm.sock")
	n := startNode(t, irm.Config{Sock: sock})
	attach(t, n, sock, "us")
	pid, fc := foreignConns(t, sock, 3)
	sess, acc, alloc := fc[0], fc[1], fc[2]
	if m, _ := rawCall(t, sess, &ctl.Msg{Code: ctl.Code_PROC_ANNOUNCE, Prog: "other"}); ctl.FromReply(m) != nil {
		t.Fatalf("foreign announce = %v", m)
	}
	if err := n.BindProcess(pid, "other"); err != nil {
		t.Fatal(err)
	}
	// The other process allocates a flow to itself: we are no party to it.
	rawSend(t, acc, &ctl.Msg{Code: ctl.Code_FLOW_ACCEPT})
	waitFlows(t, n, 1)
	// Its pending accept is not ours either.
	deallocErr := func(id uint32) error {
		_, _, err := ctl.Call(ctxT(t, 5*time.Second), sock, &ctl.Msg{Code: ctl.Code_FLOW_DEALLOC, Flow: &ctl.FlowInfo{Id: id, NPid: uint32(pid)}})
		return err
	}
	pending := n.Flows()[0].ID
	if err := deallocErr(uint32(pending)); !errors.Is(err, errs.ErrNotAllocated) {
		t.Errorf("FLOW_DEALLOC of another's pending accept = %v, want ErrNotAllocated", err)
	}
	ra, fa := rawCall(t, alloc, &ctl.Msg{Code: ctl.Code_FLOW_ALLOC, Dst: "other"})
	if err := ctl.FromReply(ra); err != nil {
		t.Fatalf("foreign alloc: %v", err)
	}
	rz, fz, err := rawRecv(acc)
	if err != nil || ctl.FromReply(rz) != nil {
		t.Fatalf("foreign accept = %v, %v", rz, err)
	}
	t.Cleanup(func() { fz.Close() })
	id := ra.GetFlow().GetId()
	if id != rz.GetFlow().GetId() || !ra.GetFlow().GetDirect() {
		t.Fatalf("alloc %v and accept %v, want one direct flow", ra.GetFlow(), rz.GetFlow())
	}
	for _, bad := range []uint32{id, 0, id + 1, irm.MaxFlows, 1 << 31, ^uint32(0)} {
		if err := deallocErr(bad); !errors.Is(err, errs.ErrNotAllocated) {
			t.Errorf("FLOW_DEALLOC %d of another's flow = %v, want ErrNotAllocated", bad, err)
		}
	}
	if got := n.Flows(); len(got) != 1 || got[0].ID != int(id) {
		t.Fatalf("flows = %+v, want the other's flow %d untouched", got, id)
	}
	a, z := flowEnd(t, fa), flowEnd(t, fz)
	if err := a.Write([]byte("still up")); err != nil {
		t.Fatal(err)
	}
	z.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 64)
	if k, err := z.Read(buf); err != nil || string(buf[:k]) != "still up" {
		t.Fatalf("read on the other's flow = %q, %v", buf[:k], err)
	}
	sess.Close() // the other process goes: the node reaps its flow
	waitFlows(t, n, 0)
	checkHealthy(t, n, sock)
}

// TestOwnerDoubleDeallocKeepsPeer: the acceptor of a direct flow
// deallocating twice must not release the allocator's end too.
func TestOwnerDoubleDeallocKeepsPeer(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "irm.sock")
	n := startNode(t, irm.Config{Sock: sock})
	srv := attach(t, n, sock, "srv")
	if err := n.BindProcess(srv.PID(), "svc"); err != nil {
		t.Fatal(err)
	}
	_, fc := foreignConns(t, sock, 3)
	sess, alloc, dealloc := fc[0], fc[1], fc[2]
	if m, _ := rawCall(t, sess, &ctl.Msg{Code: ctl.Code_PROC_ANNOUNCE, Prog: "other"}); ctl.FromReply(m) != nil {
		t.Fatalf("foreign announce = %v", m)
	}
	type res struct {
		f   *dev.Flow
		err error
	}
	ch := make(chan res, 1)
	go func() {
		f, err := srv.Accept(ctxT(t, 5*time.Second))
		ch <- res{f, err}
	}()
	ra, _ := rawCall(t, alloc, &ctl.Msg{Code: ctl.Code_FLOW_ALLOC, Dst: "svc"})
	if err := ctl.FromReply(ra); err != nil {
		t.Fatalf("foreign alloc: %v", err)
	}
	r := <-ch
	if r.err != nil {
		t.Fatal(r.err)
	}
	id := uint32(r.f.ID())
	for i, want := range []error{nil, errs.ErrNotAllocated} {
		_, _, err := ctl.Call(ctxT(t, 5*time.Second), sock, &ctl.Msg{Code: ctl.Code_FLOW_DEALLOC, Flow: &ctl.FlowInfo{Id: id}})
		if !errors.Is(err, want) {
			t.Errorf("FLOW_DEALLOC #%d by the acceptor = %v, want %v", i+1, err, want)
		}
	}
	if got := n.Flows(); len(got) != 1 {
		t.Errorf("flows = %+v, want flow %d kept for the allocator, which has not let go", got, id)
	}
	if m, _ := rawCall(t, dealloc, &ctl.Msg{Code: ctl.Code_FLOW_DEALLOC, Flow: &ctl.FlowInfo{Id: id}}); ctl.FromReply(m) != nil {
		t.Errorf("FLOW_DEALLOC by the allocator = %v, want nil", ctl.FromReply(m))
	}
	waitFlows(t, n, 0)
	r.f.Close()
	checkHealthy(t, n, sock)
}

// TestAcceptWithoutAnnounce: requests that need a process entry fail
// cleanly for a process that never announced itself, whatever pid the
// message claims.
func TestAcceptWithoutAnnounce(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "irm.sock")
	n := startNode(t, irm.Config{Sock: sock})
	call := func(m *ctl.Msg) error {
		_, _, err := ctl.Call(ctxT(t, 5*time.Second), sock, m)
		return err
	}
	start := time.Now()
	if err := call(&ctl.Msg{Code: ctl.Code_FLOW_ACCEPT, TimeoutNs: uint64(3 * time.Second)}); !errors.Is(err, errs.ErrInvalid) {
		t.Errorf("FLOW_ACCEPT = %v, want ErrInvalid", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("FLOW_ACCEPT took %v, want an answer at once", d)
	}
	if err := call(&ctl.Msg{Code: ctl.Code_FLOW_ALLOC, Dst: "x"}); !errors.Is(err, errs.ErrInvalid) {
		t.Errorf("FLOW_ALLOC = %v, want ErrInvalid", err)
	}
	if err := call(&ctl.Msg{Code: ctl.Code_FLOW_DEALLOC, Flow: &ctl.FlowInfo{Id: 1}}); !errors.Is(err, errs.ErrNotAllocated) {
		t.Errorf("FLOW_DEALLOC = %v, want ErrNotAllocated", err)
	}
	waitFlows(t, n, 0)
	// Another process, while we are attached, claiming to be us.
	attach(t, n, sock, "us")
	_, fc := foreignConns(t, sock, 1)
	m, _ := rawCall(t, fc[0], &ctl.Msg{Code: ctl.Code_FLOW_ACCEPT, Pid: int32(os.Getpid()), Flow: &ctl.FlowInfo{NPid: uint32(os.Getpid())}})
	if err := ctl.FromReply(m); !errors.Is(err, errs.ErrInvalid) {
		t.Errorf("foreign FLOW_ACCEPT = %v, want ErrInvalid", err)
	}
	checkHealthy(t, n, sock)
}

// TestAnnounceHangUpLeaksNoProcess: a process that announces itself and
// hangs up before the reply arrives (it died) must not stay registered.
func TestAnnounceHangUpLeaksNoProcess(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "irm.sock")
	n := startNode(t, irm.Config{Sock: sock})
	c := rawDial(t, sock)
	rawSend(t, c, &ctl.Msg{Code: ctl.Code_PROC_ANNOUNCE, Prog: "gone"})
	c.CloseRead() // the reply cannot be delivered
	// Wait until the node has closed its end: our writes then fail.
	if !wait.Until(5*time.Second, func() bool { _, err := c.Write([]byte{0xff}); return err != nil }) {
		t.Fatal("the node kept the connection")
	}
	notAttached(t, n, os.Getpid())
}

func TestConcurrentAllocUnknownName(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "irm.sock")
	n := startNode(t, irm.Config{Sock: sock})
	cli := attach(t, n, sock, "cli")
	srv := attach(t, n, sock, "srv")
	if err := n.BindProcess(srv.PID(), "busy"); err != nil { // bound, never accepting
		t.Fatal(err)
	}
	base := openFDs()
	var wg sync.WaitGroup
	errc := make(chan error, 300)
	for i := range 300 {
		wg.Go(func() {
			dst, ctx := "nobody", ctxT(t, 8*time.Second)
			if i%3 == 2 {
				dst, ctx = "busy", ctxT(t, 200*time.Millisecond)
			}
			f, err := cli.Alloc(ctx, dst, qos.Raw)
			if err == nil {
				f.Close()
				err = fmt.Errorf("alloc %s succeeded", dst)
			} else if dst == "nobody" && !errors.Is(err, dev.ErrIPCP) {
				err = fmt.Errorf("alloc nobody: %w, want ErrIPCP", err)
			} else {
				err = nil
			}
			errc <- err
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Error(err)
		}
	}
	checkHealthy(t, n, sock)
	waitFDs(t, base)
}

// TestAllocCloseFlood: many short direct flows leave the flow table and
// the descriptor table as they were. An allocator may close its end before
// the acceptor has its own: the acceptor then gets the flow, whose data it
// can still read, or ErrFlowDown; never a reply without a flow.
func TestAllocCloseFlood(t *testing.T) {
	const cycles = 1000
	sock := filepath.Join(t.TempDir(), "irm.sock")
	n := startNode(t, irm.Config{Sock: sock})
	srv := attach(t, n, sock, "srv")
	cli := attach(t, n, sock, "cli")
	if err := n.BindProcess(srv.PID(), "svc"); err != nil {
		t.Fatal(err)
	}
	base := openFDs()
	ctx := ctxT(t, 60*time.Second)
	errc := make(chan error, 1)
	go func() {
		buf := make([]byte, 64)
		for i := range cycles {
			f, err := srv.Accept(ctx)
			if errors.Is(err, dev.ErrFlowDown) {
				continue
			}
			if err != nil {
				errc <- fmt.Errorf("accept %d: %w", i, err)
				return
			}
			f.SetReadTimeout(5 * time.Second)
			if k, err := f.Read(buf); err != nil || string(buf[:k]) != "ping" {
				errc <- fmt.Errorf("read %d = %q, %w", i, buf[:k], err)
				return
			}
			if err := f.Close(); err != nil {
				errc <- fmt.Errorf("server close %d: %w", i, err)
				return
			}
		}
		errc <- nil
	}()
	start := time.Now()
	for i := range cycles {
		f, err := cli.Alloc(ctx, "svc", qos.Raw)
		if err != nil {
			select {
			case serr := <-errc:
				t.Fatalf("alloc %d: %v (server: %v)", i, err, serr)
			default:
			}
			t.Fatalf("alloc %d: %v", i, err)
		}
		if _, err := f.Write([]byte("ping")); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		if err := f.Close(); err != nil {
			t.Fatalf("client close %d: %v", i, err)
		}
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	t.Logf("%d alloc/accept/close cycles in %v", cycles, time.Since(start))
	waitFlows(t, n, 0)
	waitFDs(t, base)
	checkHealthy(t, n, sock)
}

// TestCloseWithAttachedClients: stopping the node does not wait for its
// clients to go.
func TestCloseWithAttachedClients(t *testing.T) {
	for _, tt := range []struct {
		name  string
		setup func(t *testing.T, n *irm.Node, sock string)
	}{
		{"session", func(t *testing.T, n *irm.Node, sock string) { attach(t, n, sock, "cli") }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sock := filepath.Join(t.TempDir(), "irm.sock")
			n := startNode(t, irm.Config{Sock: sock})
			tt.setup(t, n, sock)
			// The node accepts in order: once this is answered, it has
			// taken the connections above.
			if _, _, err := ctl.Call(ctxT(t, 5*time.Second), sock, &ctl.Msg{Code: ctl.Code_LIST_NAMES}); err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			go func() { n.Close(); close(done) }()
			select {
			case <-done:
			case <-time.After(2 * time.Second):
				t.Fatal("Node.Close blocked while a client is connected")
			}
		})
	}
}
