package sim

import (
	"bytes"
	"testing"
	"time"
)

// TestLineMultiHop: a flow across three hops of a unicast layer carries
// an SDU there and back unchanged.
func TestLineMultiHop(t *testing.T) {
	n := New(t)
	a, b, c, d := n.AddNode("a"), n.AddNode("b"), n.AddNode("c"), n.AddNode("d")
	n.Connect(a, b)
	n.Connect(b, c)
	n.Connect(c, d)
	if err := n.Layer("net", nil); err != nil {
		t.Fatal(err)
	}
	echoServer(t, d, "net", "echo")
	f := dial(t, a, "echo")
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
