package kbase

import (
	"net"
	"testing"
	"time"
)

// A TCP transfer over loopback: both ends count and hash the same bytes.
func TestTCPTransfer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	got := make(chan Transfer, 1)
	errc := make(chan error, 1)
	go func() {
		tr, err := TCPSink(addr, 10*time.Second)
		got <- tr
		errc <- err
	}()
	var sent Transfer
	for range 50 { // until the sink listens
		if sent, err = TCPSend(addr, 3<<20+17, 10*time.Second); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	r := <-got
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if r.Bytes != 3<<20+17 || sent.Bytes != r.Bytes || sent.SHA256 != r.SHA256 {
		t.Errorf("sent %v, received %v", sent, r)
	}
}

func TestUDPSendRecv(t *testing.T) {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := c.LocalAddr().String()
	c.Close()
	done := make(chan []string, 1)
	go func() {
		from, _ := UDPRecv(addr, 2, 5*time.Second)
		done <- from
	}()
	time.Sleep(100 * time.Millisecond)
	if err := UDPSend(addr, 3, time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if from := <-done; len(from) != 2 {
		t.Errorf("received from %v, want 2 datagrams", from)
	}
}
