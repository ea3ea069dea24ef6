package enroll

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/stack/ipcp/pb"
)

// call runs f and turns a panic into an error.
func call(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return f()
}

// TestBugOversizedMessagePanics: seqpkt.Conn.Read returns a packet's full
// length even when it did not fit the buffer (MSG_TRUNC), and recv returns
// buf[:n] for a BufLen-capacity buffer, so a packet of more than 1024 bytes
// makes Serve (request or ack) and Request (response) panic: "slice bounds
// out of range [:1025] with capacity 1024". The enroller side is reachable
// by anyone who can allocate a flow to the IPCP. The reference reads the
// first 1024 bytes, fails to unpack them and releases the flow. Expected: an
// error (ErrMsg), no panic.
func TestFixedOversizedMessagePanics(t *testing.T) {
	big := make([]byte, BufLen+1)
	big[0], big[1], big[2] = 0x0a, 0xfe, 0x07 // id, len 1022: a valid request
	if m := new(pb.EnrollReqMsg); proto.Unmarshal(big, m) != nil {
		t.Fatal("test request does not parse")
	}
	check := func(what string, err error) {
		t.Helper()
		if err == nil {
			t.Errorf("%s: accepted a %d-byte message", what, len(big))
		} else if strings.HasPrefix(err.Error(), "panic") {
			t.Errorf("%s: %v", what, err)
		}
	}

	// Enroller, oversized request.
	a, b := pair(t)
	a.Write(big)
	check("Serve, request", call(func() error { _, err := Serve(b, defaultConf()); return err }))

	// Enroller, oversized ack.
	a2, b2 := pair(t)
	go func() {
		a2.Write(goldenReq)
		a2.SetReadDeadline(time.Now().Add(5 * time.Second))
		a2.Read(make([]byte, BufLen))
		a2.Write(big)
	}()
	check("Serve, ack", call(func() error { _, err := Serve(b2, defaultConf()); return err }))

	// Enrollee, oversized response.
	a3, b3 := pair(t)
	go func() {
		b3.SetReadDeadline(time.Now().Add(5 * time.Second))
		b3.Read(make([]byte, BufLen))
		b3.Write(big)
	}()
	check("Request", call(func() error { _, _, _, err := Request(a3, ipcp.Unicast); return err }))
}

// TestBugConfFromMsgTruncatesTypeAndHash: ipcp_type and dir_hash_algo are
// uint32 on the wire but converted to uint8 without a range check, so
// ipcp_type 257 (0x101) is taken for unicast (1) and passes Request's type
// check, and dir_hash_algo 257 passes ConfFromMsg's hash check as SHA3_256.
// The reference compares the full value (resp.conf.type != ipcp_get_type()
// with 257 != IPCP_UNICAST) and refuses. Expected: ErrType / ErrMsg.
func TestFixedConfFromMsgTruncatesTypeAndHash(t *testing.T) {
	m := ConfMsg(defaultConf())
	m.IpcpType = proto.Uint32(0x101)
	a, b := pair(t)
	enroller(b, func(id []byte) []byte {
		r, _ := proto.Marshal(&pb.EnrollRespMsg{Id: id, TSec: proto.Int64(time.Now().Unix()), TNsec: proto.Int32(0),
			Response: proto.Int32(0), Conf: m})
		return r
	})
	if c, _, _, err := Request(a, ipcp.Unicast); !errors.Is(err, ErrType) {
		t.Errorf("ipcp_type 257: Request = %v, %v; want ErrType", confString(c), err)
	}

	m2 := ConfMsg(defaultConf())
	m2.LayerInfo.DirHashAlgo = proto.Uint32(0x101)
	if c, err := ConfFromMsg(m2); !errors.Is(err, ErrMsg) {
		t.Errorf("dir_hash_algo 257: ConfFromMsg = %v (hash %v), want ErrMsg", err, c.Layer.Hash)
	}
}

// TestBugServeAcceptsAnyIDLength: the reference enroller (enroll_req_des)
// refuses a request whose id is not ENROLL_ID_LEN (8) bytes and answers
// nothing; Serve answers any id length, empty or 1000 bytes, with the
// layer's configuration and echoes that id. Expected: ErrMsg, nothing sent.
func TestFixedServeAcceptsAnyIDLength(t *testing.T) {
	for _, n := range []int{0, 3, 9, 1000} {
		req, _ := proto.Marshal(&pb.EnrollReqMsg{Id: bytes.Repeat([]byte{0xaa}, n)})
		a, b := pair(t)
		served := serveAsync(b, defaultConf())
		a.Write(req)
		a.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if got, err := a.Read(make([]byte, 2*BufLen)); err == nil {
			t.Errorf("id of %d bytes: the enroller answered %d bytes", n, got)
		}
		a.Close()
		if r := wait(t, served); !errors.Is(r.err, ErrMsg) {
			t.Errorf("id of %d bytes: Serve = %d, %v; want ErrMsg", n, r.res, r.err)
		}
	}
}
