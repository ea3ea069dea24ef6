package sim

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/o7s/ouroboros/stack/dev"
	"github.com/o7s/ouroboros/stack/qos"
)

func TestLineMultiHop(t *testing.T) {
	n := New(t)
	a, b, c, d := n.AddNode("a"), n.AddNode("b"), n.AddNode("c"), n.AddNode("d")
	n.Connect(a, b)
	n.Connect(b, c)
	n.Connect(c, d)
	if err := n.Layer("net", nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv, err := dev.DialAs(ctx, d.Sock, "srv")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := d.N.CreateName("echo", 0); err != nil {
		t.Fatal(err)
	}
	if err := d.N.BindProcess(srv.PID(), "echo"); err != nil {
		t.Fatal(err)
	}
	if err := d.N.RegName("echo", d.Unicast["net"]); err != nil {
		t.Fatal(err)
	}
	go func() {
		f, err := srv.Accept(ctx)
		if err != nil {
			return
		}
		buf := make([]byte, 2048)
		for {
			k, err := f.Read(buf)
			if err != nil {
				return
			}
			f.Write(buf[:k])
		}
	}()
	cli, err := dev.DialAs(ctx, a.Sock, "cli")
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	a.N.CreateName("echo", 0)
	var f *dev.Flow
	for {
		f, err = cli.Alloc(ctx, "echo", qos.Raw)
		if err == nil {
			break
		}
		t.Logf("alloc: %v", err)
		if ctx.Err() != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	defer f.Close()
	msg := []byte("hello across three hops")
	if _, err := f.Write(msg); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 100)
	f.SetReadDeadline(time.Now().Add(5 * time.Second))
	k, err := f.Read(buf)
	if err != nil || !bytes.Equal(buf[:k], msg) {
		t.Fatalf("read %q, %v", buf[:k], err)
	}
}
