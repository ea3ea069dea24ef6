// Package kbase measures what the kernel alone does on a path, so the
// testbed can show Ouroboros figures next to it in the same run: ICMP echo
// and UDP ping-pong round trips, a UDP blast counted at the receiver, a TCP
// transfer hashed at both ends, and UDP datagrams (broadcasts too) sent and
// received.
package kbase

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"os"
	"slices"
	"sync/atomic"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// RTTs summarises round trips.
type RTTs struct {
	Sent, Received int
	P50, P99       time.Duration
}

func (r RTTs) String() string {
	return fmt.Sprintf("%d sent, %d received, rtt p50/p99 = %.3f/%.3f ms", r.Sent, r.Received,
		float64(r.P50)/1e6, float64(r.P99)/1e6)
}

func summarise(sent int, rtts []time.Duration) RTTs {
	r := RTTs{Sent: sent, Received: len(rtts)}
	if len(rtts) > 0 {
		slices.Sort(rtts)
		r.P50 = rtts[len(rtts)/2]
		r.P99 = rtts[min(len(rtts)-1, len(rtts)*99/100)]
	}
	return r
}

// ICMPPing sends count echo requests one after the other (ping-pong) and
// waits at most timeout for each reply.
func ICMPPing(dst string, count int, timeout time.Duration) (RTTs, error) {
	ip := net.ParseIP(dst)
	if ip == nil {
		return RTTs{}, fmt.Errorf("icmp: %q is not an IP address", dst)
	}
	network, proto, typ, reply := "ip4:icmp", 1, icmp.Type(ipv4.ICMPTypeEcho), icmp.Type(ipv4.ICMPTypeEchoReply)
	if ip.To4() == nil {
		network, proto, typ, reply = "ip6:ipv6-icmp", 58, ipv6.ICMPTypeEchoRequest, ipv6.ICMPTypeEchoReply
	}
	c, err := icmp.ListenPacket(network, "")
	if err != nil {
		return RTTs{}, fmt.Errorf("icmp (needs root): %w", err)
	}
	defer c.Close()
	id, buf := os.Getpid()&0xffff, make([]byte, 1500)
	var rtts []time.Duration
	for seq := range count {
		m := icmp.Message{Type: typ, Body: &icmp.Echo{ID: id, Seq: seq, Data: make([]byte, 56)}}
		b, _ := m.Marshal(nil)
		start := time.Now()
		if _, err := c.WriteTo(b, &net.IPAddr{IP: ip}); err != nil {
			return summarise(seq, rtts), err
		}
		c.SetReadDeadline(start.Add(timeout))
		for {
			n, _, err := c.ReadFrom(buf)
			if err != nil {
				break // lost
			}
			rm, err := icmp.ParseMessage(proto, buf[:n])
			if e, ok := rm.Body.(*icmp.Echo); err == nil && rm.Type == reply && ok && e.Seq == seq {
				rtts = append(rtts, time.Since(start))
				break
			}
		}
	}
	return summarise(count, rtts), nil
}

// UDPServe counts the datagrams arriving on addr in *got, and answers each
// with itself when echo is set, until the socket fails.
func UDPServe(addr string, echo bool, got *atomic.Uint64) error {
	c, err := net.ListenPacket("udp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	buf := make([]byte, 65536)
	for {
		n, from, err := c.ReadFrom(buf)
		if err != nil {
			return err
		}
		got.Add(1)
		if echo {
			c.WriteTo(buf[:n], from)
		}
	}
}

// UDPPing does count ping-pong round trips of size bytes to an echo server.
func UDPPing(dst string, count, size int, timeout time.Duration) (RTTs, error) {
	c, err := net.Dial("udp", dst)
	if err != nil {
		return RTTs{}, err
	}
	defer c.Close()
	msg, buf := make([]byte, max(size, 8)), make([]byte, 65536)
	var rtts []time.Duration
	for seq := range count {
		binary.BigEndian.PutUint64(msg, uint64(seq))
		start := time.Now()
		if _, err := c.Write(msg); err != nil {
			return summarise(seq, rtts), err
		}
		c.SetReadDeadline(start.Add(timeout))
		for {
			n, err := c.Read(buf)
			if err != nil {
				break
			}
			if n >= 8 && binary.BigEndian.Uint64(buf) == uint64(seq) {
				rtts = append(rtts, time.Since(start))
				break
			}
		}
	}
	return summarise(count, rtts), nil
}

// UDPBlast sends size-byte datagrams to dst as fast as it can for d and
// returns how many it sent.
func UDPBlast(dst string, size int, d time.Duration) (int, error) {
	c, err := net.Dial("udp", dst)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	msg, n := make([]byte, size), 0
	for end := time.Now().Add(d); time.Now().Before(end); {
		for range 64 {
			if _, err := c.Write(msg); err != nil && !errors.Is(err, io.ErrShortWrite) {
				continue // ECONNREFUSED and the like: keep blasting
			}
			n++
		}
	}
	return n, nil
}

// Transfer is one TCP transfer as one end saw it.
type Transfer struct {
	Bytes  int64
	SHA256 [sha256.Size]byte
	Took   time.Duration // from the connection to the last byte
}

func (t Transfer) String() string {
	mbps := 0.0
	if t.Took > 0 {
		mbps = float64(t.Bytes) * 8 / t.Took.Seconds() / 1e6
	}
	return fmt.Sprintf("%d bytes in %v: %.1f Mb/s, sha256 %x", t.Bytes, t.Took.Round(time.Millisecond), mbps, t.SHA256)
}

// TCPSink accepts one connection on addr and reads it to its end,
// hashing what arrives; it gives up after timeout.
func TCPSink(addr string, timeout time.Duration) (Transfer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return Transfer{}, err
	}
	defer ln.Close()
	ln.(*net.TCPListener).SetDeadline(time.Now().Add(timeout))
	c, err := ln.Accept()
	if err != nil {
		return Transfer{}, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	start := time.Now()
	h := sha256.New()
	n, err := io.Copy(h, c)
	t := Transfer{Bytes: n, Took: time.Since(start)}
	copy(t.SHA256[:], h.Sum(nil))
	return t, err
}

// TCPSend connects to dst and sends n pseudo-random bytes (a fresh seed
// each run), hashing what it sends; it gives up after timeout.
func TCPSend(dst string, n int64, timeout time.Duration) (Transfer, error) {
	c, err := net.DialTimeout("tcp", dst, timeout)
	if err != nil {
		return Transfer{}, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	var seed [32]byte
	rand.Read(seed[:])
	src := mrand.NewChaCha8(seed)
	h := sha256.New()
	buf := make([]byte, 64<<10)
	start := time.Now()
	var sent int64
	for sent < n {
		b := buf[:min(int64(len(buf)), n-sent)]
		src.Read(b)
		h.Write(b)
		if _, err := c.Write(b); err != nil {
			return Transfer{Bytes: sent, Took: time.Since(start)}, err
		}
		sent += int64(len(b))
	}
	// Closing the sending side and waiting for the receiver's close makes
	// the figure the time to the last byte received.
	c.(*net.TCPConn).CloseWrite()
	io.Copy(io.Discard, c)
	t := Transfer{Bytes: sent, Took: time.Since(start)}
	copy(t.SHA256[:], h.Sum(nil))
	return t, nil
}

// UDPSend sends count small datagrams to dst, which may be a broadcast
// address, one every interval.
func UDPSend(dst string, count int, interval time.Duration) error {
	raddr, err := net.ResolveUDPAddr("udp", dst)
	if err != nil {
		return err
	}
	c, err := net.ListenUDP("udp", nil)
	if err != nil {
		return err
	}
	defer c.Close()
	if rc, err := c.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) { unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_BROADCAST, 1) })
	}
	for i := range count {
		if _, err := c.WriteToUDP(fmt.Appendf(nil, "kbase %d", i), raddr); err != nil {
			return err
		}
		if i < count-1 {
			time.Sleep(interval)
		}
	}
	return nil
}

// UDPRecv waits for count datagrams on addr (broadcasts too) and returns
// their senders; it gives up after timeout with those it has.
func UDPRecv(addr string, count int, timeout time.Duration) ([]string, error) {
	c, err := net.ListenPacket("udp", addr)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(timeout))
	var from []string
	buf := make([]byte, 65536)
	for len(from) < count {
		_, a, err := c.ReadFrom(buf)
		if err != nil {
			return from, err
		}
		from = append(from, a.String())
	}
	return from, nil
}
