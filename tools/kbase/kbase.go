// Package kbase measures what the kernel alone does on a path, so the
// testbed can show Ouroboros figures next to it in the same run: ICMP echo
// and UDP ping-pong round trips, and a UDP blast counted at the receiver.
package kbase

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"sync/atomic"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
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
