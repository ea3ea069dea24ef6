package sim

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/o7s/ouroboros/stack/ctl"
	"github.com/o7s/ouroboros/stack/dev"
	"github.com/o7s/ouroboros/stack/ipcp"
)

// TestEnrollNoAnswer: enrollment through a name whose server accepts the
// flow but never answers fails within the exchange's timeout with an
// error that says so; through a name nobody serves it fails at once.
func TestEnrollNoAnswer(t *testing.T) {
	n := New(t)
	x, y := n.AddNode("x"), n.AddNode("y")
	l := n.Connect(x, y)
	mute, err := dev.DialAs(context.Background(), y.Sock, "mute")
	if err != nil {
		t.Fatal(err)
	}
	defer mute.Close()
	y.N.CreateName("mute", ctl.RoundRobin)
	if err := y.N.BindProcess(mute.PID(), "mute"); err != nil {
		t.Fatal(err)
	}
	if err := y.N.RegName("mute", y.lower[l.Layer]); err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			f, err := mute.Accept(context.Background())
			if err != nil {
				return
			}
			defer f.Close() // holds the flow, says nothing
		}
	}()
	id, err := x.N.CreateIPCP("net.x", ipcp.Unicast)
	if err != nil {
		t.Fatal(err)
	}
	x.N.CreateName("mute", ctl.RoundRobin)
	start := time.Now()
	err = x.N.EnrollIPCP(context.Background(), id, "mute")
	took := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), "does not answer as an enroller") {
		t.Fatalf("enroll through a mute server: %v", err)
	}
	if took > 5*time.Second {
		t.Errorf("enrollment took %v to fail", took)
	}
	t.Logf("failed after %v: %v", took.Round(time.Millisecond), err)

	start = time.Now()
	err = x.N.EnrollIPCP(context.Background(), id, "nobody")
	if err == nil || !strings.Contains(err.Error(), "nobody serves") || time.Since(start) > 2*time.Second {
		t.Fatalf("enroll through nobody: %v after %v", err, time.Since(start))
	}
	for _, e := range x.N.ListIPCPs() {
		if e.ID == id && (e.State == ipcp.StateOperational || e.Layer != ipcp.NotEnrolled) {
			t.Errorf("IPCP in a layer after failed enrollments: %+v", e)
		}
	}
}
