package enroll

import (
	"bytes"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/stack/ipcp/pb"
	"github.com/o7s/ouroboros/stack/seqpkt"
	"github.com/o7s/ouroboros/stack/seqpkt/seqpkttest"
)

func pair(t testing.TB) (*seqpkt.Conn, *seqpkt.Conn) {
	t.Helper()
	a, b, err := seqpkt.Pair()
	if errors.Is(err, errors.ErrUnsupported) {
		t.Skip("seqpkt: no flow channel on this platform")
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

type serveResult struct {
	res int32
	err error
}

func serveAsync(c Conn, conf Conf) <-chan serveResult {
	ch := make(chan serveResult, 1)
	go func() {
		r, err := Serve(c, conf)
		ch <- serveResult{r, err}
	}()
	return ch
}

type requestResult struct {
	conf Conf
	id   []byte
	skew time.Duration
	err  error
}

func requestAsync(c Conn, want ipcp.Type) <-chan requestResult {
	ch := make(chan requestResult, 1)
	go func() {
		conf, id, skew, err := Request(c, want)
		ch <- requestResult{conf, id, skew, err}
	}()
	return ch
}

func wait[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatal("exchange did not end")
		panic("unreachable")
	}
}

// read reads one packet with a deadline.
func read(t *testing.T, c *seqpkt.Conn) []byte {
	t.Helper()
	buf := make([]byte, 4096)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return buf[:n]
}

func TestEnrollment(t *testing.T) {
	for _, g := range goldenConfs() {
		t.Run(g.name, func(t *testing.T) {
			a, b := pair(t)
			served := serveAsync(b, g.conf)
			conf, id, skew, err := Request(a, g.conf.Type)
			if err != nil {
				t.Fatalf("Request: %v", err)
			}
			if !confEqual(conf, g.conf) {
				t.Errorf("enrollee got %s, want %s", confString(conf), confString(g.conf))
			}
			if len(id) != IDLen {
				t.Errorf("id of %d bytes", len(id))
			}
			if skew > ClockWarn {
				t.Errorf("clock offset %v between two ends of one process", skew)
			}
			if err := Ack(a, id, 0); err != nil {
				t.Fatal(err)
			}
			if r := wait(t, served); r.err != nil || r.res != 0 {
				t.Errorf("Serve = %d, %v; want 0, nil", r.res, r.err)
			}
		})
	}
}

func TestRequestIDsDiffer(t *testing.T) {
	seen := map[string]bool{}
	for range 4 {
		a, b := pair(t)
		served := serveAsync(b, defaultConf())
		_, id, _, err := Request(a, ipcp.Unicast)
		if err != nil {
			t.Fatal(err)
		}
		if seen[string(id)] {
			t.Errorf("id % x reused", id)
		}
		seen[string(id)] = true
		Ack(a, id, 0)
		wait(t, served)
	}
}

// TestServeWire checks the enroller's bytes against the golden response:
// everything but the clock is fixed.
func TestServeWire(t *testing.T) {
	a, b := pair(t)
	served := serveAsync(b, defaultConf())
	before := time.Now()
	a.Write(goldenReq)
	got := read(t, a)
	after := time.Now()

	head := cat(idField, []byte{0x10})
	tail := goldenResp[len(idField)+len(timeFields):]
	if !bytes.HasPrefix(got, head) || !bytes.HasSuffix(got, tail) {
		t.Errorf("response\n got % x\nwant % x <t_sec> 18 <t_nsec> % x", got, head, tail)
	}
	var m pb.EnrollRespMsg
	if err := proto.Unmarshal(got, &m); err != nil {
		t.Fatal(err)
	}
	ts := time.Unix(m.GetTSec(), int64(m.GetTNsec()))
	if ts.Before(before.Truncate(time.Second)) || ts.After(after.Add(time.Second)) {
		t.Errorf("enroller clock %v, not within [%v, %v]", ts, before, after)
	}
	if n := m.GetTNsec(); n < 0 || n >= 1e9 {
		t.Errorf("t_nsec %d", n)
	}

	a.Write(goldenAck)
	if r := wait(t, served); r.err != nil || r.res != 0 {
		t.Errorf("Serve = %d, %v", r.res, r.err)
	}
}

// TestRequestAckWire checks the enrollee's bytes.
func TestRequestAckWire(t *testing.T) {
	a, b := pair(t)
	asked := requestAsync(a, ipcp.Unicast)
	req := read(t, b)
	if len(req) != 10 || !bytes.HasPrefix(req, []byte{0x0a, 0x08}) {
		t.Fatalf("request % x, want 0a 08 <8 bytes>", req)
	}
	id := req[2:]
	b.Write(cat([]byte{0x0a, 0x08}, id, goldenResp[len(idField):]))
	r := wait(t, asked)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if !bytes.Equal(r.id, id) || !confEqual(r.conf, defaultConf()) {
		t.Errorf("Request = %s, % x", confString(r.conf), r.id)
	}

	a2, b2 := pair(t)
	for _, g := range []struct {
		res  int32
		wire []byte
	}{{0, goldenAck}, {-1, goldenAckFail}} {
		if err := Ack(a2, testID, g.res); err != nil {
			t.Fatal(err)
		}
		if got := read(t, b2); !bytes.Equal(got, g.wire) {
			t.Errorf("ack %d\n got % x\nwant % x", g.res, got, g.wire)
		}
	}
}

func TestAckFailureResult(t *testing.T) {
	a, b := pair(t)
	served := serveAsync(b, defaultConf())
	_, id, _, err := Request(a, ipcp.Unicast)
	if err != nil {
		t.Fatal(err)
	}
	Ack(a, id, -7)
	if r := wait(t, served); r.err != nil || r.res != -7 {
		t.Errorf("Serve = %d, %v; want -7, nil", r.res, r.err)
	}
}

func TestAckIDMismatch(t *testing.T) {
	a, b := pair(t)
	served := serveAsync(b, defaultConf())
	_, id, _, err := Request(a, ipcp.Unicast)
	if err != nil {
		t.Fatal(err)
	}
	other := bytes.Clone(id)
	other[0] ^= 0xff
	Ack(a, other, 0)
	if r := wait(t, served); !errors.Is(r.err, ErrID) {
		t.Errorf("Serve = %d, %v; want ErrID", r.res, r.err)
	}
}

// enroller answers the first request with resp(id of the request).
func enroller(c *seqpkt.Conn, resp func(id []byte) []byte) {
	go func() {
		buf := make([]byte, BufLen)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := c.Read(buf)
		if err != nil {
			return
		}
		var m pb.EnrollReqMsg
		if proto.Unmarshal(buf[:n], &m) != nil {
			return
		}
		c.Write(resp(m.GetId()))
	}()
}

func respMsg(id []byte, sec int64, response int32, conf *pb.IpcpConfigMsg) []byte {
	b, _ := proto.Marshal(&pb.EnrollRespMsg{Id: id, TSec: proto.Int64(sec), TNsec: proto.Int32(0),
		Response: proto.Int32(response), Conf: conf})
	return b
}

func TestRequestIDMismatch(t *testing.T) {
	a, b := pair(t)
	enroller(b, func(id []byte) []byte {
		other := bytes.Clone(id)
		other[7]++
		return respMsg(other, time.Now().Unix(), 0, ConfMsg(defaultConf()))
	})
	if _, _, _, err := Request(a, ipcp.Unicast); !errors.Is(err, ErrID) {
		t.Errorf("Request = %v, want ErrID", err)
	}
}

func TestRequestDenied(t *testing.T) {
	for _, tc := range []struct {
		name string
		resp func(id []byte) []byte
	}{
		{"reference refusal", func(id []byte) []byte {
			return cat([]byte{0x0a, 0x08}, id, goldenRespRefused[len(idField):])
		}},
		{"refusal with conf", func(id []byte) []byte {
			return respMsg(id, time.Now().Unix(), -22, ConfMsg(defaultConf()))
		}},
	} {
		a, b := pair(t)
		enroller(b, tc.resp)
		if _, _, _, err := Request(a, ipcp.Unicast); !errors.Is(err, ErrDenied) {
			t.Errorf("%s: Request = %v, want ErrDenied", tc.name, err)
		}
	}
}

func TestRequestWrongType(t *testing.T) {
	for _, tc := range []struct {
		conf Conf
		want ipcp.Type
	}{
		{broadcastConf(), ipcp.Unicast},
		{defaultConf(), ipcp.Broadcast},
	} {
		a, b := pair(t)
		served := serveAsync(b, tc.conf)
		_, id, _, err := Request(a, tc.want)
		if !errors.Is(err, ErrType) {
			t.Errorf("%v layer, %v enrollee: Request = %v, want ErrType", tc.conf.Type, tc.want, err)
		}
		if id != nil {
			t.Errorf("id returned with an error")
		}
		a.Close() // what the IPCP does: release without an ack
		if r := wait(t, served); r.err == nil || r.res != NoAck {
			t.Errorf("Serve = %d, %v; want NoAck and an error", r.res, r.err)
		}
	}
}

func TestRequestMalformed(t *testing.T) {
	for _, tc := range []struct {
		name string
		resp func(id []byte) []byte
	}{
		{"garbage", func([]byte) []byte { return []byte{0xff, 0xff} }},
		{"empty", func([]byte) []byte { return nil }},
		{"no response field", func(id []byte) []byte { return cat([]byte{0x0a, 0x08}, id, timeFields) }},
		// The reference's enrollee would trip an assert on this one.
		{"accepted without conf", func(id []byte) []byte { return respMsg(id, time.Now().Unix(), 0, nil) }},
		{"conf without layer name", func(id []byte) []byte {
			c := defaultConf()
			c.Layer.Name = ""
			return respMsg(id, time.Now().Unix(), 0, ConfMsg(c))
		}},
		{"conf with hash 9", func(id []byte) []byte {
			c := defaultConf()
			c.Layer.Hash = 9
			return respMsg(id, time.Now().Unix(), 0, ConfMsg(c))
		}},
	} {
		a, b := pair(t)
		enroller(b, tc.resp)
		if _, _, _, err := Request(a, ipcp.Unicast); !errors.Is(err, ErrMsg) {
			t.Errorf("%s: Request = %v, want ErrMsg", tc.name, err)
		}
	}
}

func TestRequestClockOffset(t *testing.T) {
	for _, d := range []time.Duration{-90 * time.Second, 3600 * time.Second} {
		a, b := pair(t)
		enroller(b, func(id []byte) []byte {
			return respMsg(id, time.Now().Add(d).Unix(), 0, ConfMsg(defaultConf()))
		})
		_, _, skew, err := Request(a, ipcp.Unicast)
		if err != nil {
			t.Fatal(err)
		}
		want := d.Abs()
		if skew < want-2*time.Second || skew > want+time.Second {
			t.Errorf("enroller %v off: offset %v", d, skew)
		}
	}
}

func TestRequestPeerGone(t *testing.T) {
	a, b := pair(t)
	b.Close()
	if _, _, _, err := Request(a, ipcp.Unicast); err == nil {
		t.Error("Request on a released flow succeeded")
	}

	a2, b2 := pair(t)
	go func() {
		b2.SetReadDeadline(time.Now().Add(5 * time.Second))
		b2.Read(make([]byte, BufLen))
		b2.Close()
	}()
	t0 := time.Now()
	if _, _, _, err := Request(a2, ipcp.Unicast); !errors.Is(err, seqpkt.ErrPeerClosed) {
		t.Errorf("Request = %v, want ErrPeerClosed", err)
	}
	if el := time.Since(t0); el > time.Second {
		t.Errorf("took %v", el)
	}
}

func TestServeNoAck(t *testing.T) {
	a, b := pair(t)
	served := serveAsync(b, defaultConf())
	if _, _, _, err := Request(a, ipcp.Unicast); err != nil {
		t.Fatal(err)
	}
	a.Close()
	if r := wait(t, served); r.err == nil || r.res != NoAck {
		t.Errorf("Serve = %d, %v; want NoAck and an error", r.res, r.err)
	}
}

// TestServeNoAckTimeout runs in a synctest bubble over an in-memory flow,
// so the enroller's wait of Timeout for the ack passes in virtual time.
func TestServeNoAckTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := seqpkttest.Pipe()
		served := make(chan serveResult, 1)
		go func() {
			r, err := Serve(b, defaultConf())
			served <- serveResult{r, err}
		}()
		if _, _, _, err := Request(a, ipcp.Unicast); err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		select {
		case r := <-served:
			el := time.Since(t0)
			if r.err == nil || r.res != NoAck {
				t.Errorf("Serve = %d, %v; want NoAck and an error", r.res, r.err)
			}
			if el < Timeout-100*time.Millisecond {
				t.Errorf("Serve gave up after %v, before Timeout %v", el, Timeout)
			}
		case <-time.After(Timeout + 3*time.Second):
			t.Fatal("Serve did not give up")
		}
	})
}

func TestServeNoRequest(t *testing.T) {
	a, b := pair(t)
	served := serveAsync(b, defaultConf())
	a.Close()
	if r := wait(t, served); !errors.Is(r.err, seqpkt.ErrPeerClosed) || r.res != NoAck {
		t.Errorf("Serve = %d, %v; want NoAck, ErrPeerClosed", r.res, r.err)
	}
}

func TestServeMalformed(t *testing.T) {
	for name, req := range map[string][]byte{
		"garbage": {0xff, 0x00},
		"empty":   {},
		"no id":   {0x10, 0x01}, // only an unknown field
	} {
		a, b := pair(t)
		served := serveAsync(b, defaultConf())
		a.Write(req)
		if r := wait(t, served); !errors.Is(r.err, ErrMsg) || r.res != NoAck {
			t.Errorf("%s: Serve = %d, %v; want NoAck, ErrMsg", name, r.res, r.err)
		}
		a.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		if n, err := a.Read(make([]byte, BufLen)); err == nil {
			t.Errorf("%s: the enroller answered %d bytes", name, n)
		}
	}

	a, b := pair(t)
	served := serveAsync(b, defaultConf())
	a.Write(goldenReq)
	read(t, a)
	a.Write([]byte{0x0a, 0x08, 1}) // truncated ack
	if r := wait(t, served); !errors.Is(r.err, ErrMsg) || r.res != NoAck {
		t.Errorf("bad ack: Serve = %d, %v; want NoAck, ErrMsg", r.res, r.err)
	}
}
