// Command kbase measures the kernel's own baseline on a path (ICMP echo,
// UDP ping-pong, a UDP blast counted at the receiver), for comparison with
// Ouroboros in the same run. make testbed uses it.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/o7s/ouroboros/internal/version"
	"github.com/o7s/ouroboros/tools/kbase"
)

const usage = `Usage:
  kbase icmp ADDR [-c N]                 ICMP echo ping-pong (root)
  kbase udp-server ADDR:PORT             echo UDP datagrams (for udp-ping)
  kbase udp-sink ADDR:PORT               count UDP datagrams; on SIGUSR1 or SIGTERM
                                         print the count and rate since the last report
  kbase udp-ping ADDR:PORT [-c N] [-s B] UDP ping-pong round trips
  kbase udp-blast ADDR:PORT [-s B] [-d D] send as fast as possible; the server counts
  kbase tcp-sink ADDR:PORT [-t T]        accept one TCP connection, read it to its end,
                                         print bytes, Mb/s and the sha256 of what came
  kbase tcp-send ADDR:PORT [-n BYTES] [-t T]
                                         send BYTES (default 8 MiB) of random data,
                                         print bytes, Mb/s (to the receiver's close)
                                         and the sha256 of what was sent
  kbase udp-send ADDR:PORT [-c N]        send N datagrams, 100 ms apart (ADDR may be a
                                         broadcast address)
  kbase udp-recv ADDR:PORT [-c N] [-t T] wait for N datagrams, print their senders
  kbase --version
`

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	if len(args) == 1 {
		switch args[0] {
		case "-h", "--help":
			fmt.Print(usage)
			return 0
		case "--version":
			fmt.Print(version.Line("kbase"))
			return 0
		}
	}
	if len(args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		return 2
	}
	fs := flag.NewFlagSet("kbase "+args[0], flag.ContinueOnError)
	count := fs.Int("c", 1000, "round trips")
	size := fs.Int("s", 64, "datagram size")
	dur := fs.Duration("d", 2*time.Second, "blast duration")
	bytes := fs.Int64("n", 8<<20, "bytes to send over TCP")
	timeout := fs.Duration("t", time.Minute, "how long to wait")
	if err := fs.Parse(args[2:]); err != nil {
		return 2
	}
	var err error
	switch args[0] {
	case "icmp":
		var r kbase.RTTs
		r, err = kbase.ICMPPing(args[1], *count, time.Second)
		fmt.Println("icmp:", r)
	case "udp-ping":
		var r kbase.RTTs
		r, err = kbase.UDPPing(args[1], *count, *size, time.Second)
		fmt.Println("udp:", r)
	case "udp-blast":
		var n int
		n, err = kbase.UDPBlast(args[1], *size, *dur)
		fmt.Printf("udp blast: %d datagrams of %d B sent in %v\n", n, *size, *dur)
	case "tcp-sink":
		var t kbase.Transfer
		t, err = kbase.TCPSink(args[1], *timeout)
		fmt.Println("tcp received:", t)
	case "tcp-send":
		var t kbase.Transfer
		t, err = kbase.TCPSend(args[1], *bytes, *timeout)
		fmt.Println("tcp sent:", t)
	case "udp-send":
		err = kbase.UDPSend(args[1], *count, 100*time.Millisecond)
		if err == nil {
			fmt.Printf("udp: %d datagrams sent to %s\n", *count, args[1])
		}
	case "udp-recv":
		var from []string
		from, err = kbase.UDPRecv(args[1], *count, *timeout)
		for _, f := range from {
			fmt.Println("udp: received from", f)
		}
	case "udp-server":
		return server(args[1], true)
	case "udp-sink":
		return server(args[1], false)
	default:
		fmt.Fprint(os.Stderr, usage)
		return 2
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "kbase:", err)
		return 1
	}
	return 0
}

// server counts (and echoes); every SIGUSR1 it prints the datagrams
// received since the last report and the rate over that span.
func server(addr string, echo bool) int {
	var got atomic.Uint64
	errc := make(chan error, 1)
	go func() { errc <- kbase.UDPServe(addr, echo, &got) }()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGUSR1, syscall.SIGTERM, syscall.SIGINT)
	last, since := uint64(0), time.Now()
	for {
		select {
		case err := <-errc:
			fmt.Fprintln(os.Stderr, "kbase:", err)
			return 1
		case s := <-sig:
			n := got.Load()
			span := time.Since(since)
			fmt.Printf("received %d datagrams in %v: %.0f pps\n", n-last, span.Round(time.Millisecond), float64(n-last)/span.Seconds())
			last, since = n, time.Now()
			if s != syscall.SIGUSR1 {
				return 0
			}
		}
	}
}
