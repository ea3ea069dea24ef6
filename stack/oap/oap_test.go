package oap

import (
	"bytes"
	"crypto/sha512"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/o7s/ouroboros/stack/crypt"
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
	req := appendHeader(nil, fixedID(), t0, fields{})
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
	if k, err := r.Complete(resp); err != nil || k.Encrypted() {
		t.Fatal(k, err)
	}
	other := NewRequest(time.Now())
	if _, err := other.Complete(resp); !errors.Is(err, errs.ErrCrypt) {
		t.Errorf("a response to another request: %v, want ErrCrypt", err)
	}
	bad := bytes.Clone(resp)
	bad[len(bad)-1] ^= 1
	if _, err := r.Complete(bad); !errors.Is(err, errs.ErrCrypt) {
		t.Errorf("a response with a wrong hash: %v, want ErrCrypt", err)
	}
	if _, err := r.Complete(resp[:60]); !errors.Is(err, errs.ErrAuth) {
		t.Errorf("a truncated response: %v, want ErrAuth", err)
	}
}

func TestServerRefuses(t *testing.T) {
	now := time.Now()
	withField := func(off int, v uint16, extra int) []byte {
		b := appendHeader(nil, fixedID(), now, fields{})
		binary.BigEndian.PutUint16(b[off:], v)
		return append(b, make([]byte, extra)...)
	}
	for _, tc := range []struct {
		name string
		req  []byte
		want error
	}{
		{"replay", nil, errs.ErrAuth},
		{"stale", appendHeader(nil, fixedID(), now.Add(-21*time.Second), fields{}), errs.ErrAuth},
		{"from the future", appendHeader(nil, fixedID(), now.Add(time.Second), fields{}), errs.ErrAuth},
		{"truncated", appendHeader(nil, fixedID(), now, fields{})[:35], errs.ErrAuth},
		{"inflated length", withField(offDataLen, 10, 5), errs.ErrAuth},
		{"trailing bytes unsigned", withField(offDataLen, 0, 3), errs.ErrAuth},
		{"key exchange", withField(offKexLen, 4, 4), errs.ErrCrypt},
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
	req := appendHeader(nil, fixedID(), time.Now(), fields{})
	binary.BigEndian.PutUint16(req[offMD:], 672) // sha256: a 32-byte request hash
	resp, err := NewServer().Respond(req, time.Now())
	if err != nil || len(resp) != HeaderLen+32 {
		t.Fatalf("response to a sha256 request: %d bytes, %v; want %d", len(resp), err, HeaderLen+32)
	}
	binary.BigEndian.PutUint16(req[offMD:], 1057) // blake2s256
	req[0]++
	if resp, err := NewServer().Respond(req, time.Now()); err != nil || len(resp) != HeaderLen+32 {
		t.Errorf("blake2s256 request: %d bytes, %v", len(resp), err)
	}
}

func FuzzParse(f *testing.F) {
	req := appendHeader(nil, fixedID(), t0, fields{})
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

func conf(kex, cipher, kdf uint16) *crypt.Conf {
	c := crypt.DefaultConf()
	c.Kex, c.Cipher, c.KDF = kex, cipher, kdf
	return &c
}

// A client with encryption configured and a server with or without it
// agree on a key in the one round trip, the stronger cipher and KDF
// winning; a server with encryption refuses a clear request; a client
// refuses a weaker cipher or KDF than it asked for.
func TestKeyExchange(t *testing.T) {
	for _, tc := range []struct {
		name           string
		client, server *crypt.Conf
		cipher, kdf    uint16
	}{
		{"client only", conf(crypt.Prime256v1, crypt.AES256GCM, crypt.SHA256), nil, crypt.AES256GCM, crypt.SHA256},
		{"both, server stronger", conf(crypt.X25519, crypt.AES128GCM, crypt.SHA256), conf(crypt.X25519, crypt.ChaCha20Poly1305, crypt.SHA512), crypt.ChaCha20Poly1305, crypt.SHA512},
		{"both, client stronger", conf(crypt.Secp384r1, crypt.AES256GCM, crypt.SHA3_256), conf(crypt.Prime256v1, crypt.AES128GCM, crypt.SHA256), crypt.AES256GCM, crypt.SHA3_256},
		{"ML-KEM-768", conf(crypt.MLKEM768, crypt.AES256GCM, crypt.SHA384), conf(crypt.Prime256v1, crypt.AES256GCM, crypt.SHA256), crypt.AES256GCM, crypt.SHA384},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewRequestTo(time.Now(), "", Side{Enc: tc.client})
			if err != nil {
				t.Fatal(err)
			}
			h, _ := Parse(r.Bytes, 0)
			if len(h.Kex) == 0 || h.Cipher != tc.client.Cipher {
				t.Fatalf("request %+v", h)
			}
			resp, skey, err := NewServer().RespondAs(r.Bytes, time.Now(), Side{Enc: tc.server})
			if err != nil {
				t.Fatal(err)
			}
			ckey, err := r.Complete(resp)
			if err != nil {
				t.Fatal(err)
			}
			if ckey != skey || ckey.Cipher != tc.cipher || !ckey.Encrypted() {
				t.Fatalf("client %v, server %v; want cipher %d", ckey.Cipher, skey.Cipher, tc.cipher)
			}
			rh, _ := Parse(resp, len(r.hash))
			if rh.KDF != tc.kdf {
				t.Fatalf("kdf %d, want %d", rh.KDF, tc.kdf)
			}
			// A downgrade: the same response with a weaker cipher.
			bad := bytes.Clone(resp)
			binary.BigEndian.PutUint16(bad[offCipher:], crypt.AES128CTR)
			if _, err := r.Complete(bad); !errors.Is(err, errs.ErrCrypt) {
				t.Fatalf("a downgraded response: %v", err)
			}
		})
	}
	// A server that takes only encrypted flows refuses a clear request.
	if _, _, err := NewServer().RespondAs(NewRequest(time.Now()).Bytes, time.Now(), Side{Enc: conf(crypt.Prime256v1, crypt.AES256GCM, crypt.SHA256)}); !errors.Is(err, errs.ErrCrypt) {
		t.Errorf("a clear request to an encrypted name: %v", err)
	}
	// A server that asks for a stronger key exchange than the client's.
	r, _ := NewRequestTo(time.Now(), "", Side{Enc: conf(crypt.Prime256v1, crypt.AES256GCM, crypt.SHA256)})
	if _, _, err := NewServer().RespondAs(r.Bytes, time.Now(), Side{Enc: conf(crypt.Secp521r1, crypt.AES256GCM, crypt.SHA256)}); !errors.Is(err, errs.ErrCrypt) {
		t.Errorf("a weaker key exchange than the server's: %v", err)
	}
	// A "none" configuration is no encryption.
	r, _ = NewRequestTo(time.Now(), "", Side{Enc: &crypt.Conf{}})
	if h, _ := Parse(r.Bytes, 0); len(h.Kex) != 0 {
		t.Errorf("none sends a key exchange")
	}
}
