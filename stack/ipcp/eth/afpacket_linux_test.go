package eth_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/o7s/ouroboros/internal/wait"
	"github.com/o7s/ouroboros/stack/dev"
	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/stack/ipcp/eth"
	"github.com/o7s/ouroboros/stack/qos"
)

// privileged skips unless the test runs as root with
// OUROBOROS_PRIVILEGED_TESTS=1.
func privileged(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 || os.Getenv("OUROBOROS_PRIVILEGED_TESTS") != "1" {
		t.Skip("needs root and OUROBOROS_PRIVILEGED_TESTS=1")
	}
}

var nsSeq atomic.Int32

func ipCmd(t testing.TB, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// vethNetns makes two network namespaces, o7s-test-<pid>-<n>-a and -b,
// joined by a veth pair whose ends are both named o7s0, up, with the given
// MTU. The namespaces (and with them the veth) go when the test ends.
func vethNetns(t testing.TB, mtu int) (string, string) {
	t.Helper()
	base := fmt.Sprintf("o7s-test-%d-%d", os.Getpid(), nsSeq.Add(1))
	nsA, nsB := base+"-a", base+"-b"
	for _, ns := range []string{nsA, nsB} {
		t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
		ipCmd(t, "netns", "add", ns)
	}
	m := fmt.Sprint(mtu)
	ipCmd(t, "link", "add", "o7s0", "netns", nsA, "mtu", m, "type", "veth", "peer", "name", "o7s0", "netns", nsB, "mtu", m)
	ipCmd(t, "-n", nsA, "link", "set", "o7s0", "up")
	ipCmd(t, "-n", nsB, "link", "set", "o7s0", "up")
	return nsA, nsB
}

// inNetns runs fn on a new thread in the named network namespace. The
// thread is locked and never unlocked, so it dies with its goroutine;
// sockets fn opens stay in the namespace.
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

// openIn opens the AF_PACKET link of an IPCP on o7s0 in namespace ns.
func openIn(ns string) eth.OpenFunc {
	return func(conf ipcp.EthConfig, llc bool) (eth.Link, error) {
		var l eth.Link
		err := inNetns(ns, func() (err error) {
			l, err = eth.OpenAFPacket(conf, llc)
			return err
		})
		return l, err
	}
}

func openPair(t testing.TB, nsA, nsB string, llc bool) (eth.Link, eth.Link) {
	t.Helper()
	conf := ipcp.EthConfig{Dev: "o7s0", Ethertype: ipcp.DefaultEthertype}
	a, err := openIn(nsA)(conf, llc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	b, err := openIn(nsB)(conf, llc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return a, b
}

// dataFrame builds a data frame of the flavour with an n-byte payload
// whose bytes start at seq.
func dataFrame(llc bool, dst, src net.HardwareAddr, seq, n int) []byte {
	hl := eth.DIXHeaderLen
	if llc {
		hl = eth.LLCHeaderLen
	}
	b := make([]byte, hl+n)
	for i := range n {
		b[hl+i] = byte(seq + i)
	}
	if llc {
		eth.LLCHeader(b).Put(eth.MAC(dst), eth.MAC(src), 2, 3, n)
	} else {
		eth.DIXHeader(b).Put(eth.MAC(dst), eth.MAC(src), ipcp.DefaultEthertype, 64, uint16(n))
	}
	return b
}

// recvFrames reads count frames from l, failing after 5 s.
func recvFrames(t testing.TB, l eth.Link, count int) [][]byte {
	t.Helper()
	c := make(chan [][]byte, 1)
	go func() {
		var got [][]byte
		bufs, sizes := make([][]byte, eth.BatchSize), make([]int, eth.BatchSize)
		for i := range bufs {
			bufs[i] = make([]byte, 1<<16)
		}
		for len(got) < count {
			n, err := l.ReadBatch(bufs, sizes)
			if err != nil {
				break
			}
			for i := range n {
				got = append(got, bytes.Clone(bufs[i][:sizes[i]]))
			}
		}
		c <- got
	}()
	select {
	case got := <-c:
		return got
	case <-time.After(5 * time.Second):
		t.Fatalf("fewer than %d frames in 5 s", count)
	}
	return nil
}

func TestPrivilegedAFPacket(t *testing.T) {
	privileged(t)
	nsA, nsB := vethNetns(t, 1500)
	for _, llc := range []bool{false, true} {
		t.Run(map[bool]string{false: "dix", true: "llc"}[llc], func(t *testing.T) {
			a, b := openPair(t, nsA, nsB, llc)
			if len(a.MAC()) != 6 || a.MTU() != 1500 || bytes.Equal(a.MAC(), b.MAC()) {
				t.Fatalf("links: MAC %v/%v MTU %d", a.MAC(), b.MAC(), a.MTU())
			}
			for _, dir := range [][2]eth.Link{{a, b}, {b, a}} {
				from, to := dir[0], dir[1]
				for round := range 8 { // batches of 64, each frame checked
					var frames [][]byte
					for i := range eth.BatchSize {
						frames = append(frames, dataFrame(llc, to.MAC(), from.MAC(), round*64+i, 46+(round*64+i)*7%1400))
					}
					if n, err := from.WriteBatch(frames); n != len(frames) || err != nil {
						t.Fatalf("WriteBatch = %d, %v", n, err)
					}
					got := recvFrames(t, to, len(frames))
					for i := range frames {
						if !bytes.Equal(got[i][:len(frames[i])], frames[i]) {
							t.Fatalf("frame %d differs", round*64+i)
						}
					}
				}
			}
			checkKernelFilter(t, a, b, llc)
			checkTruncation(t, a, b, llc)
		})
	}
}

// checkKernelFilter sends a frame of the other flavour and then one of
// ours: only ours reaches the socket, because it is bound to its protocol
// and not to ETH_P_ALL.
func checkKernelFilter(t *testing.T, a, b eth.Link, llc bool) {
	t.Helper()
	frames := [][]byte{dataFrame(!llc, b.MAC(), a.MAC(), 0, 100)} // the other flavour
	if !llc {
		other := dataFrame(false, b.MAC(), a.MAC(), 0, 100)
		other[12], other[13] = 0xA0, 0x01 // another ethertype
		frames = append(frames, other)
	}
	ours := dataFrame(llc, b.MAC(), a.MAC(), 7, 100)
	frames = append(frames, ours)
	if n, err := a.WriteBatch(frames); n != len(frames) || err != nil {
		t.Fatalf("WriteBatch = %d, %v", n, err)
	}
	if got := recvFrames(t, b, 1); !bytes.Equal(got[0][:len(ours)], ours) {
		t.Fatalf("received %x, want only our frame", got[0])
	}
}

// checkTruncation reads a full-size frame into a short buffer: the size
// reports the real length.
func checkTruncation(t *testing.T, a, b eth.Link, llc bool) {
	t.Helper()
	big := dataFrame(llc, b.MAC(), a.MAC(), 0, 1480)
	a.WriteBatch([][]byte{big})
	bufs, sizes := [][]byte{make([]byte, 100)}, []int{0}
	if n, err := b.ReadBatch(bufs, sizes); n != 1 || err != nil || sizes[0] != len(big) {
		t.Fatalf("ReadBatch = %d, %v, size %d; want the real length %d", n, err, sizes[0], len(big))
	}
	errc := make(chan error, 1)
	go func() {
		_, err := b.ReadBatch(bufs, sizes)
		errc <- err
	}()
	wait.For(t, "the reader to block in ReadBatch", func() bool { return parkedIn("checkTruncation") })
	b.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("ReadBatch after Close = %v, want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ReadBatch still blocked after Close")
	}
}

// parkedIn reports whether a goroutine whose stack names fn waits on the
// netpoller (the reader of a link, blocked until a frame comes).
func parkedIn(fn string) bool {
	buf := make([]byte, 1<<20)
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		head, _, _ := strings.Cut(g, "\n")
		if strings.Contains(head, "[IO wait") && strings.Contains(g, fn) {
			return true
		}
	}
	return false
}

// TestPrivilegedEthIPCP runs two nodes whose Ethernet IPCPs sit on the two
// ends of a veth pair in two namespaces, and echoes through them.
func TestPrivilegedEthIPCP(t *testing.T) {
	privileged(t)
	forTypes(t, func(t *testing.T, typ ipcp.Type) {
		noLeaks(t)
		nsA, nsB := vethNetns(t, 1500)
		a := startNodeWith(t, typ, nsA, "o7s0", func(*ethNode) eth.OpenFunc { return openIn(nsA) })
		b := startNodeWith(t, typ, nsB, "o7s0", func(*ethNode) eth.OpenFunc { return openIn(nsB) })
		flows := b.serve(t, "srv", 1)
		f, err := a.attach(t, "cli").Alloc(ctxT(t, 5*time.Second), "srv", qos.Raw)
		if err != nil {
			t.Fatal(err)
		}
		sf := accepted(t, flows)
		checkEcho(t, f, 1000, 3)
		max := a.p.MaxSDU()
		if _, err := f.Write(make([]byte, max+1)); !errors.Is(err, dev.ErrMsgSize) {
			t.Errorf("an SDU over the link's maximum: %v, want ErrMsgSize", err)
		}
		checkEcho(t, f, 10, 4)
		if n := a.p.Stats.DropTooLong.Load(); n != 0 {
			t.Errorf("DropTooLong = %d, want 0 (refused before the IPCP)", n)
		}
		f.Close()
		sf.Close()
		waitEmpty(t, a, b)
	})
}

// BenchmarkPrivilegedAFPacket sends 1000-byte DIX frames over a veth pair
// between two namespaces, with sendmmsg/recvmmsg moving up to 64 frames
// per system call, or one. It reports the sender's and the receiver's
// rate, the loss, and where frames were dropped: at the receiving socket
// (its buffer full) or in the veth.
func BenchmarkPrivilegedAFPacket(b *testing.B) {
	privileged(b)
	nsA, nsB := vethNetns(b, 1500)
	for _, bs := range [][2]int{{1, 1}, {eth.BatchSize, eth.BatchSize}, {1, eth.BatchSize}, {eth.BatchSize, 1}} {
		b.Run(fmt.Sprintf("tx=%d/rx=%d", bs[0], bs[1]), func(b *testing.B) {
			tx := openBatchLink(b, nsA, bs[0])
			rx := openBatchLink(b, nsB, bs[1])
			frame := dataFrame(false, rx.MAC(), tx.MAC(), 0, benchSDU)
			frames := make([][]byte, bs[0])
			for i := range frames {
				frames[i] = frame
			}
			rx.KernelStats()
			veth0, backlog0 := vethDrops(b, nsA), backlogDrops(b)
			done := make(chan rxResult, 1)
			b.SetBytes(int64(len(frame)))
			b.ResetTimer()
			start := time.Now()
			go countFrames(rx, b.N, done)
			for sent := 0; sent < b.N; {
				n, err := tx.WriteBatch(frames[:min(bs[0], b.N-sent)])
				if err != nil {
					b.Fatal(err)
				}
				sent += n
			}
			txTime := time.Since(start)
			r := <-done
			b.StopTimer()
			b.ReportMetric(float64(b.N)/txTime.Seconds(), "tx-frames/s")
			b.ReportMetric(float64(r.got)/r.last.Sub(start).Seconds(), "rx-frames/s")
			b.ReportMetric(100*float64(b.N-r.got)/float64(b.N), "loss%")
			b.ReportMetric(float64(r.queued), "sock-queued")
			b.ReportMetric(float64(r.sockDrops), "sock-drops")
			b.ReportMetric(float64(vethDrops(b, nsA)-veth0), "veth-drops")
			b.ReportMetric(float64(backlogDrops(b)-backlog0), "backlog-drops")
		})
	}
}

type rxResult struct {
	got               int
	last              time.Time
	queued, sockDrops uint32 // the kernel's count for the socket
}

// countFrames reads until it has want frames or none came for a second.
func countFrames(l *eth.PacketLink, want int, done chan<- rxResult) {
	bufs, sizes := make([][]byte, eth.BatchSize), make([]int, eth.BatchSize)
	for i := range bufs {
		bufs[i] = make([]byte, 1514)
	}
	var r rxResult
	stats := func() { r.queued, r.sockDrops, _ = l.KernelStats() }
	idle := time.AfterFunc(time.Hour, func() { stats(); l.Close() })
	defer func() { done <- r }()
	for r.got < want {
		n, err := l.ReadBatch(bufs, sizes)
		if err != nil {
			return
		}
		r.got += n
		r.last = time.Now()
		idle.Reset(time.Second)
	}
	if idle.Stop() {
		stats()
	}
}

// backlogDrops is the sum over CPUs of the frames the kernel dropped
// because a CPU's input backlog was full (second column of softnet_stat).
func backlogDrops(b *testing.B) uint64 {
	data, err := os.ReadFile("/proc/net/softnet_stat")
	if err != nil {
		b.Fatal(err)
	}
	var sum uint64
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var processed, dropped uint64
		fmt.Sscanf(line, "%x %x", &processed, &dropped)
		sum += dropped
	}
	return sum
}

// vethDrops is what the veth end o7s0 in ns dropped on transmit.
func vethDrops(b *testing.B, ns string) uint64 {
	out, err := exec.Command("ip", "-j", "-s", "-n", ns, "link", "show", "o7s0").Output()
	if err != nil {
		b.Fatal(err)
	}
	var links []struct {
		Stats64 struct{ TX struct{ Dropped uint64 } } `json:"stats64"`
	}
	if err := json.Unmarshal(out, &links); err != nil || len(links) != 1 {
		b.Fatalf("ip -j link: %v: %s", err, out)
	}
	return links[0].Stats64.TX.Dropped
}

func openBatchLink(b *testing.B, ns string, batch int) *eth.PacketLink {
	var l *eth.PacketLink
	if err := inNetns(ns, func() (err error) {
		l, err = eth.OpenPacketLink("o7s0", ipcp.DefaultEthertype, batch)
		return err
	}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	return l
}

// BenchmarkPrivilegedEthIPCP streams 1000-byte SDUs through two IPCPs on
// the ends of a veth pair (AF_PACKET), on 1 or 8 flows, with up to 512 in
// flight. frames/write is how many frames the writer hands sendmmsg per call.
func BenchmarkPrivilegedEthIPCP(b *testing.B) {
	privileged(b)
	for _, typ := range []ipcp.Type{ipcp.EthDIX, ipcp.EthLLC} {
		for _, nflows := range []int{1, 8} {
			b.Run(fmt.Sprintf("%v/flows=%d", typ, nflows), func(b *testing.B) {
				nsA, nsB := vethNetns(b, 1500)
				pa, ia := newIPCPOn(b, typ, "o7s0", openIn(nsA))
				pb, ib := newIPCPOn(b, typ, "o7s0", openIn(nsB))
				var fps []flowPair
				for range nflows {
					fps = append(fps, allocate(b, pa, pb, ia, ib))
				}
				b.SetBytes(benchSDU)
				b.ReportAllocs()
				f0, w0 := pa.Stats.TxFrames.Load(), pa.Stats.TxWrites.Load()
				b.ResetTimer()
				start := time.Now()
				var wg sync.WaitGroup
				for i, fp := range fps {
					n := b.N / nflows
					if i < b.N%nflows {
						n++
					}
					wg.Go(func() { streamFlow(b, fp, n, 512/nflows) })
				}
				wg.Wait()
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "sdu/s")
				b.ReportMetric(float64(pa.Stats.TxFrames.Load()-f0)/float64(max(pa.Stats.TxWrites.Load()-w0, 1)), "frames/write")
				b.ReportMetric(float64(pb.Stats.DropFlowFull.Load()), "drops")
			})
		}
	}
}

// TestPrivilegedCarrierShared: two links of one namespace share one
// netlink subscription; both see the carrier go; closing one closes its
// channel only, and the other still sees the carrier come back; closing
// the last ends the subscription.
func TestPrivilegedCarrierShared(t *testing.T) {
	privileged(t)
	nsA, nsB := vethNetns(t, 1500)
	conf := ipcp.EthConfig{Dev: "o7s0", Ethertype: ipcp.DefaultEthertype}
	dix, err := openIn(nsA)(conf, false)
	if err != nil {
		t.Fatal(err)
	}
	defer dix.Close()
	llc, err := openIn(nsA)(conf, true)
	if err != nil {
		t.Fatal(err)
	}
	defer llc.Close()
	before := eth.CarrierWatches()
	cd, cl := dix.(eth.Carrier).Carrier(), llc.(eth.Carrier).Carrier()
	if n := eth.CarrierWatches() - before; n != 1 {
		t.Fatalf("%d new carrier watches for two links of one namespace, want 1", n)
	}
	expect := func(ch <-chan bool, want bool) {
		t.Helper()
		select {
		case up, ok := <-ch:
			if !ok || up != want {
				t.Fatalf("carrier = %v (open %v), want %v", up, ok, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no carrier change to %v", want)
		}
	}
	closed := func(ch <-chan bool) {
		t.Helper()
		for {
			select {
			case _, ok := <-ch:
				if !ok {
					return
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the carrier channel stayed open after Close")
			}
		}
	}
	ipCmd(t, "-n", nsB, "link", "set", "o7s0", "down")
	expect(cd, false)
	expect(cl, false)
	dix.Close()
	closed(cd)
	ipCmd(t, "-n", nsB, "link", "set", "o7s0", "up")
	expect(cl, true)
	llc.Close()
	closed(cl)
	if n := eth.CarrierWatches() - before; n != 0 {
		t.Fatalf("the namespace's watch stayed after its last link closed (%d)", n)
	}
}

// TestPrivilegedCarrier: taking the peer's end of the veth down stops the
// carrier of ours (netlink, in the link's own namespace, whatever thread
// asks); bringing it up restores it.
func TestPrivilegedCarrier(t *testing.T) {
	privileged(t)
	nsA, nsB := vethNetns(t, 1500)
	a, _ := openPair(t, nsA, nsB, false)
	ch := a.(eth.Carrier).Carrier()
	expect := func(want bool) {
		t.Helper()
		select {
		case up, ok := <-ch:
			if !ok || up != want {
				t.Fatalf("carrier = %v (open %v), want %v", up, ok, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no carrier change to %v", want)
		}
	}
	ipCmd(t, "-n", nsB, "link", "set", "o7s0", "down")
	expect(false)
	ipCmd(t, "-n", nsB, "link", "set", "o7s0", "up")
	expect(true)
	a.Close()
	select {
	case _, ok := <-ch:
		if ok {
			for range ch {
			}
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the carrier channel stayed open after Close")
	}
}
