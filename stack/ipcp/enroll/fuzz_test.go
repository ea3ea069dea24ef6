package enroll

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/o7s/ouroboros/stack/ipcp/pb"
	"github.com/o7s/ouroboros/stack/seqpkt"
)

// FuzzConfFromMsg: whatever an enroller sends as ipcp_config_msg, decoding
// it never panics, and what is accepted encodes (with every required field
// set) and decodes again to the same Conf.
func FuzzConfFromMsg(f *testing.F) {
	for _, g := range goldenConfs() {
		f.Add(g.wire)
	}
	f.Add([]byte{})
	f.Add(goldenConfDefault[:40])
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, o := range []proto.UnmarshalOptions{{}, {AllowPartial: true}} {
			var m pb.IpcpConfigMsg
			if o.Unmarshal(b, &m) != nil {
				continue
			}
			c, err := ConfFromMsg(&m)
			if err != nil {
				if !errors.Is(err, ErrMsg) {
					t.Fatalf("ConfFromMsg error %v is not ErrMsg", err)
				}
				continue
			}
			if c.Layer.Name == "" || c.Layer.Hash.Len() == 0 {
				t.Fatalf("accepted layer %+v", c.Layer)
			}
			if (m.Unicast != nil) != (c.Unicast != nil) {
				t.Fatalf("unicast part %v decoded as %v", m.Unicast != nil, c.Unicast != nil)
			}
			wire, err := proto.Marshal(ConfMsg(c))
			if err != nil {
				t.Fatalf("ConfMsg(%s) does not marshal: %v", confString(c), err)
			}
			var m2 pb.IpcpConfigMsg
			if err := proto.Unmarshal(wire, &m2); err != nil {
				t.Fatal(err)
			}
			c2, err := ConfFromMsg(&m2)
			if err != nil || !confEqual(c, c2) {
				t.Fatalf("re-encoding changed %s into %s (%v)", confString(c), confString(c2), err)
			}
		}
	})
}

// FuzzServe plays a misbehaving enrollee against Serve over a real flow
// channel: an arbitrary request, then (if answered) an arbitrary ack, then
// the flow is released. Serve must never panic and must return soon after
// the release (no waiting for Timeout).
func FuzzServe(f *testing.F) {
	f.Add(goldenReq, goldenAck)
	f.Add(goldenReq, goldenAckFail)
	f.Add(goldenReq, []byte{})
	f.Add([]byte{}, []byte{})
	f.Add(cat(goldenReq, []byte{0x10, 0x01}), goldenAck)
	f.Add([]byte{0x0a, 0x00}, []byte{0x0a, 0x00, 0x10, 0x00})
	f.Add(goldenResp, goldenAck)
	f.Fuzz(func(t *testing.T, req, ack []byte) {
		a, b, err := seqpkt.Pair()
		if err != nil {
			t.Skip(err)
		}
		defer a.Close()
		defer b.Close()
		conf := defaultConf()
		done := make(chan serveResult, 1)
		go func() {
			r, err := Serve(b, conf)
			done <- serveResult{r, err}
		}()
		if err := a.Write(req); err != nil {
			t.Fatal(err)
		}
		var rq pb.EnrollReqMsg
		answered := proto.Unmarshal(req, &rq) == nil && len(rq.GetId()) == IDLen && len(req) <= BufLen
		if answered {
			buf := make([]byte, 4*BufLen)
			a.SetReadDeadline(time.Now().Add(2 * time.Second))
			n, err := a.Read(buf)
			if err != nil {
				t.Fatalf("no response to a valid request: %v", err)
			}
			var rs pb.EnrollRespMsg
			if err := proto.Unmarshal(buf[:n], &rs); err != nil {
				t.Fatalf("response does not parse: %v", err)
			}
			if !bytes.Equal(rs.GetId(), rq.GetId()) || rs.GetResponse() != 0 {
				t.Fatalf("response %v to request %v", &rs, &rq)
			}
			if c, err := ConfFromMsg(rs.GetConf()); err != nil || !confEqual(c, conf) {
				t.Fatalf("response conf %s, %v", confString(c), err)
			}
			a.Write(ack)
		}
		a.Close()
		var r serveResult
		select {
		case r = <-done:
		case <-time.After(2 * time.Second):
			t.Fatal("Serve did not return after the flow was released")
		}
		var ak pb.EnrollAckMsg
		ackOK := answered && proto.Unmarshal(ack, &ak) == nil
		switch {
		case !answered || !ackOK:
			if r.err == nil || r.res != NoAck {
				t.Fatalf("Serve = %d, %v; want NoAck and an error", r.res, r.err)
			}
		case !bytes.Equal(ak.GetId(), rq.GetId()):
			if !errors.Is(r.err, ErrID) {
				t.Fatalf("Serve = %d, %v; want ErrID", r.res, r.err)
			}
		default:
			if r.err != nil || r.res != ak.GetResult() {
				t.Fatalf("Serve = %d, %v; want %d, nil", r.res, r.err, ak.GetResult())
			}
		}
	})
}
