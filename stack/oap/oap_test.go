package oap

import (
	"bytes"
	"crypto/sha512"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/o7s/ouroboros/stack/errs"
)

var t0 = time.Unix(1700000000, 123456789)

// The request bytes for id 00 01 .. 0f at t0, written out from the table of
// spec APP §5.4: id, timestamp (BE ns), then five zero u16 fields and a
// zero data length.
const goldenReq = "000102030405060708090a0b0c0d0e0f" + "17979cfe3d85cd15" + "0000" + "0000" + "0000" + "0000" + "0000" + "0000"

func fixedID() (id [16]byte) {
	for i := range id {
		id[i] = byte(i)
	}
	return id
}

func TestGoldenRequestAndResponse(t *testing.T) {
	req := appendFixed(nil, fixedID(), t0)
	if got := hex.EncodeToString(req); got != goldenReq {
		t.Fatalf("request = %s\nwant      %s", got, goldenReq)
	}
	resp, err := NewServer().Respond(req, t0.Add(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha512.Sum384(req)
	if len(resp) != HeaderLen+48 || !bytes.Equal(resp[:16], req[:16]) || !bytes.Equal(resp[HeaderLen:], sum[:]) {
		t.Fatalf("response = %x, want the id, the time, zeros and SHA-384(request)", resp)
	}
	if ts := binary.BigEndian.Uint64(resp[16:]); ts != uint64(t0.Add(time.Millisecond).UnixNano()) {
		t.Errorf("response timestamp = %d", ts)
	}
}

func TestRoundTrip(t *testing.T) {
	s := NewServer()
	r := NewRequest(time.Now())
	resp, err := s.Respond(r.Bytes, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Complete(resp); err != nil {
		t.Fatal(err)
	}
	other := NewRequest(time.Now())
	if err := other.Complete(resp); !errors.Is(err, errs.ErrCrypt) {
		t.Errorf("a response to another request: %v, want ErrCrypt", err)
	}
	bad := bytes.Clone(resp)
	bad[len(bad)-1] ^= 1
	if err := r.Complete(bad); !errors.Is(err, errs.ErrCrypt) {
		t.Errorf("a response with a wrong hash: %v, want ErrCrypt", err)
	}
	if err := r.Complete(resp[:60]); !errors.Is(err, errs.ErrAuth) {
		t.Errorf("a truncated response: %v, want ErrAuth", err)
	}
}

func TestServerRefuses(t *testing.T) {
	now := time.Now()
	withField := func(off int, v uint16, extra int) []byte {
		b := appendFixed(nil, fixedID(), now)
		binary.BigEndian.PutUint16(b[off:], v)
		return append(b, make([]byte, extra)...)
	}
	for _, tc := range []struct {
		name string
		req  []byte
		want error
	}{
		{"replay", nil, errs.ErrAuth},
		{"stale", appendFixed(nil, fixedID(), now.Add(-21*time.Second)), errs.ErrAuth},
		{"from the future", appendFixed(nil, fixedID(), now.Add(time.Second)), errs.ErrAuth},
		{"truncated", appendFixed(nil, fixedID(), now)[:35], errs.ErrAuth},
		{"inflated length", withField(offDataLen, 10, 5), errs.ErrAuth},
		{"trailing bytes unsigned", withField(offDataLen, 0, 3), errs.ErrAuth},
		{"key exchange", withField(offKexLen, 4, 4), errs.ErrCrypt},
		{"cipher", withField(offCipher, 901, 0), errs.ErrCrypt},
		{"unknown cipher", withField(offCipher, 7, 0), errs.ErrAuth},
		{"certificate", withField(offCrtLen, 2, 4), errs.ErrAuth},
	} {
		s := NewServer()
		req := tc.req
		if tc.name == "replay" {
			req = NewRequest(now).Bytes
			if _, err := s.Respond(req, now); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.Respond(req, now); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestRequestDigest(t *testing.T) {
	req := appendFixed(nil, fixedID(), time.Now())
	binary.BigEndian.PutUint16(req[offMD:], 672) // sha256: a 32-byte request hash
	resp, err := NewServer().Respond(req, time.Now())
	if err != nil || len(resp) != HeaderLen+32 {
		t.Fatalf("response to a sha256 request: %d bytes, %v; want %d", len(resp), err, HeaderLen+32)
	}
	binary.BigEndian.PutUint16(req[offMD:], 1057) // blake2s256: not in this build
	req[0]++
	if _, err := NewServer().Respond(req, time.Now()); !errors.Is(err, errs.ErrCrypt) {
		t.Errorf("blake2s256 request: %v, want ErrCrypt", err)
	}
}

func FuzzParse(f *testing.F) {
	req := appendFixed(nil, fixedID(), t0)
	resp, _ := NewServer().Respond(req, t0)
	f.Add(req, 0)
	f.Add(resp, 48)
	f.Fuzz(func(t *testing.T, b []byte, hlen int) {
		if hlen < 0 || hlen > 64 {
			return
		}
		h, err := Parse(b, hlen)
		if err != nil {
			return
		}
		if n := HeaderLen + len(h.Crt) + len(h.Kex) + len(h.Data) + len(h.ReqHash) + len(h.Signature); n != len(b) {
			t.Fatalf("parts add up to %d bytes of %d", n, len(b))
		}
		NewServer().Respond(b, t0) // must not panic
	})
}
