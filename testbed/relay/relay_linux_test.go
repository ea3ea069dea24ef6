package relay

import (
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/o7s/ouroboros/testbed/topo"
)

// privileged skips unless the test runs as root with
// OUROBOROS_PRIVILEGED_TESTS=1.
func privileged(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 || os.Getenv("OUROBOROS_PRIVILEGED_TESTS") != "1" {
		t.Skip("needs root and OUROBOROS_PRIVILEGED_TESTS=1")
	}
}

func ipCmd(t testing.TB, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// inNetns runs fn on a new thread in the named network namespace; the
// thread is never unlocked, so it dies with its goroutine. Sockets fn
// opens stay in the namespace.
func inNetns(ns string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		fd, err := unix.Open("/run/netns/"+ns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- err
			return
		}
		err = unix.Setns(fd, unix.CLONE_NEWNET)
		unix.Close(fd)
		if err != nil {
			errc <- fmt.Errorf("setns %s: %w", ns, err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}

var nsSeq atomic.Int32

// lab is three namespaces of a test's own: a and b joined through r
// (a:x0 -- r:r0, r:r1 -- b:x1), where a relay runs, and directly by a
// bare veth pair (a:y0 -- b:y1) to compare with.
type lab struct{ a, r, b string }

func newLab(t *testing.T) lab {
	base := fmt.Sprintf("o7s-rtest-%d-%d", os.Getpid(), nsSeq.Add(1))
	l := lab{base + "-a", base + "-r", base + "-b"}
	for _, ns := range []string{l.a, l.r, l.b} {
		t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
		ipCmd(t, "netns", "add", ns)
	}
	ipCmd(t, "link", "add", "x0", "netns", l.a, "type", "veth", "peer", "name", "r0", "netns", l.r)
	ipCmd(t, "link", "add", "r1", "netns", l.r, "type", "veth", "peer", "name", "x1", "netns", l.b)
	ipCmd(t, "link", "add", "y0", "netns", l.a, "type", "veth", "peer", "name", "y1", "netns", l.b)
	for _, e := range [][2]string{{l.a, "x0"}, {l.a, "y0"}, {l.r, "r0"}, {l.r, "r1"}, {l.b, "x1"}, {l.b, "y1"}} {
		ipCmd(t, "-n", e[0], "link", "set", e[1], "up")
	}
	return l
}

func (l lab) relay(t *testing.T, ctl string) *Relay {
	var r *Relay
	if err := inNetns(l.r, func() (err error) { r, err = Start("r0", "r1", ctl); return err }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func open(t testing.TB, ns, dev string) *sock {
	var s *sock
	if err := inNetns(ns, func() (err error) { s, err = openSock(dev); return err }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.close() })
	return s
}

// testType is the ethertype of the test's frames (local experimental).
const testType = 0x88b5

// frame is a test frame of size bytes: broadcast, testType, then a
// sequence number and the time it was sent (ns since start).
func frame(b []byte, seq uint64, sent int64) {
	for i := range 6 {
		b[i] = 0xff
	}
	binary.BigEndian.PutUint16(b[12:], testType)
	binary.BigEndian.PutUint64(b[14:], seq)
	binary.BigEndian.PutUint64(b[22:], uint64(sent))
}

// recv reads test frames from s until stop is closed and it has been
// quiet for quiet, calling fn for each.
func recv(s *sock, stop <-chan struct{}, quiet time.Duration, fn func(b []byte, n int)) {
	bufs := make([][]byte, Batch)
	for i := range bufs {
		bufs[i] = make([]byte, 2048)
	}
	sizes := make([]int, Batch)
	stopped := false
	for {
		select {
		case <-stop:
			stopped = true
		default:
		}
		wait := 50 * time.Millisecond
		if stopped {
			wait = quiet
		}
		s.setReadDeadline(time.Now().Add(wait))
		n, err := s.readBatch(bufs, sizes)
		if err != nil {
			if stopped {
				return
			}
			continue
		}
		for i := range n {
			if sizes[i] >= 30 && binary.BigEndian.Uint16(bufs[i][12:]) == testType {
				fn(bufs[i], sizes[i])
			}
		}
	}
}

// blast sends frames of size bytes from tx as fast as it can for d and
// says how many b received (pps).
func blast(t *testing.T, tx, rx *sock, size int, d time.Duration) (sent, got uint64) {
	stop := make(chan struct{})
	done := make(chan struct{})
	var n atomic.Uint64
	go func() {
		defer close(done)
		recv(rx, stop, 200*time.Millisecond, func([]byte, int) { n.Add(1) })
	}()
	frames := make([][]byte, Batch)
	for i := range frames {
		frames[i] = make([]byte, size)
		frame(frames[i], uint64(i), 0)
	}
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		k, err := tx.writeBatch(frames)
		if err != nil {
			t.Fatal(err)
		}
		sent += uint64(k)
	}
	close(stop)
	<-done
	return sent, n.Load()
}

// TestRelayCeiling measures how many frames a second cross a bare veth
// pair and a relay with no impairment, at 64 and 1400 bytes, on this
// machine, in the same run.
func TestRelayCeiling(t *testing.T) {
	privileged(t)
	l := newLab(t)
	l.relay(t, "")
	bareTx, bareRx := open(t, l.a, "y0"), open(t, l.b, "y1")
	relTx, relRx := open(t, l.a, "x0"), open(t, l.b, "x1")
	const d = time.Second
	for _, size := range []int{64, 1400} {
		bs, bg := blast(t, bareTx, bareRx, size, d)
		rs, rg := blast(t, relTx, relRx, size, d)
		t.Logf("%4d-byte frames for %v: bare veth %d of %d sent (%.0f kpps), relay %d of %d sent (%.0f kpps, %.0f%% of bare)",
			size, d, bg, bs, float64(bg)/d.Seconds()/1e3, rg, rs, float64(rg)/d.Seconds()/1e3, 100*float64(rg)/float64(max(bg, 1)))
		if rg == 0 {
			t.Errorf("%d-byte frames: nothing crossed the relay", size)
		}
	}
}

// TestRelayImpairs sends frames through a relay with delay and jitter,
// then corruption, set through its control socket, and checks what
// arrives.
func TestRelayImpairs(t *testing.T) {
	privileged(t)
	l := newLab(t)
	ctl := filepath.Join(t.TempDir(), "relay.sock")
	l.relay(t, ctl)
	tx, rx := open(t, l.a, "x0"), open(t, l.b, "x1")
	set := func(im topo.Impairment) {
		t.Helper()
		r, err := Call(ctl, Request{Op: "set", Dirs: []Config{{Impair: im, Seed: 1}, {}}})
		if err != nil {
			t.Fatal(err)
		}
		if r.Dirs[0].Config.Impair != im || r.Dirs[0].Counters.Received != 0 {
			t.Fatalf("after set: %+v", r.Dirs[0])
		}
	}
	base := time.Now()
	// send n frames of size bytes, gap apart, and collect them at rx.
	send := func(n, size int, gap time.Duration) (delays []time.Duration, frames [][]byte) {
		stop, done := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(done)
			recv(rx, stop, 300*time.Millisecond, func(b []byte, k int) {
				delays = append(delays, time.Since(base)-time.Duration(binary.BigEndian.Uint64(b[22:])))
				frames = append(frames, slices.Clone(b[:k]))
			})
		}()
		f := make([]byte, size)
		for i := range n {
			frame(f, uint64(i), int64(time.Since(base)))
			if _, err := tx.writeBatch([][]byte{f}); err != nil {
				t.Fatal(err)
			}
			time.Sleep(gap)
		}
		close(stop)
		<-done
		return delays, frames
	}

	set(topo.Impairment{Delay: 20 * time.Millisecond, Jitter: 5 * time.Millisecond})
	delays, frames := send(200, 100, time.Millisecond)
	if len(delays) != 200 {
		t.Fatalf("%d of 200 frames arrived", len(delays))
	}
	for i, f := range frames {
		if seq := binary.BigEndian.Uint64(f[14:]); seq != uint64(i) {
			t.Fatalf("frame %d arrived as the %dth: jitter reordered", seq, i)
		}
	}
	slices.Sort(delays)
	t.Logf("delay 20ms jitter 5ms, 200 frames 1 ms apart: min %v p50 %v p99 %v max %v", delays[0], delays[100], delays[198], delays[199])
	if delays[0] < 15*time.Millisecond || delays[100] < 18*time.Millisecond || delays[100] > 26*time.Millisecond || delays[198] > 32*time.Millisecond {
		t.Errorf("delays min %v p50 %v p99 %v: not 20 ms ± 5 ms (and a little)", delays[0], delays[100], delays[198])
	}

	set(topo.Impairment{Delay: 2 * time.Millisecond})
	delays, _ = send(200, 100, 200*time.Microsecond)
	slices.Sort(delays)
	t.Logf("delay 2ms, 200 frames 200 µs apart: min %v p50 %v p99 %v", delays[0], delays[100], delays[198])
	if len(delays) != 200 || delays[0] < 2*time.Millisecond || delays[100] > 3*time.Millisecond {
		t.Errorf("delay 2 ms: %d frames, min %v p50 %v", len(delays), delays[0], delays[100])
	}

	set(topo.Impairment{Corrupt: topo.PercentMax})
	_, frames = send(50, 300, 0)
	// The flipped bit is after the header: in the stamp (bytes 14 to 29)
	// or in the zeros after it, where it is seen.
	inPayload := 0
	for _, f := range frames {
		switch countBits(f[30:]) {
		case 0:
		case 1:
			inPayload++
		default:
			t.Errorf("a frame has %d bits flipped after its stamp", countBits(f[30:]))
		}
	}
	if inPayload < 40 {
		t.Errorf("%d of %d frames have a bit flipped after their stamp, want most", inPayload, len(frames))
	}
	r, err := Call(ctl, Request{Op: "show"})
	if err != nil {
		t.Fatal(err)
	}
	// The relay counts the namespaces' own frames too (IPv6 router
	// solicitations and the like), and corrupts them as well.
	if c := r.Dirs[0].Counters; c.Received < 50 || c.Corrupted != c.Received || c.Passed != c.Received || len(frames) != 50 {
		t.Errorf("corrupt 100%%: %d frames arrived, counters %+v", len(frames), c)
	}
	if r.PID != os.Getpid() {
		t.Errorf("show: pid %d", r.PID)
	}
}

func countBits(b []byte) int {
	n := 0
	for _, c := range b {
		for ; c != 0; c &= c - 1 {
			n++
		}
	}
	return n
}
