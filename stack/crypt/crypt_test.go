package crypt

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func TestParseConf(t *testing.T) {
	c, err := ParseConf(strings.NewReader("# a comment\n\n  cipher = chacha20-poly1305 \nkex=X25519\nunknown = 7\n"), "enc.conf")
	if err != nil {
		t.Fatal(err)
	}
	want := Conf{Kex: X25519, Cipher: ChaCha20Poly1305, KDF: SHA256, Digest: SHA256, KEMMode: KEMServer}
	if *c != want {
		t.Fatalf("%+v, want %+v", *c, want)
	}
	if c, _ := ParseConf(strings.NewReader(""), "e"); *c != DefaultConf() {
		t.Fatalf("an empty file gives %+v, want the defaults", *c)
	}
	if c, _ := ParseConf(strings.NewReader("kex = secp384r1\nnone\n"), "e"); c.Enabled() {
		t.Fatalf("none leaves %+v", *c)
	}
	for _, tc := range []struct{ in, want string }{
		{"cipher = rot13\n", "/etc/x/enc.conf:1: unknown cipher \"rot13\""},
		{"\n\nkex = ffdhe2048\n", "/etc/x/enc.conf:3: key exchange \"ffdhe2048\" is not supported by this build"},
		{"kdf = md5\n", "/etc/x/enc.conf:1: unknown kdf digest \"md5\""},
		{"kem_mode = client\n", "/etc/x/enc.conf:1: kem_mode client"},
		{"just words\n", "/etc/x/enc.conf:1: \"just words\" is not key = value"},
	} {
		_, err := ParseConf(strings.NewReader(tc.in), "/etc/x/enc.conf")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.in, err, tc.want)
		}
	}
	if c, err := LoadConf(t.TempDir() + "/missing/enc.conf"); c != nil || err != nil {
		t.Fatalf("a missing file: %v %v, want no configuration and no error", c, err)
	}
}

// HKDF as the KDF: RFC 5869's first test case (its OKM's first 32 bytes).
func TestDeriveRFC5869(t *testing.T) {
	ikm := bytes.Repeat([]byte{0x0b}, 22)
	salt, _ := hex.DecodeString("000102030405060708090a0b0c")
	info, _ := hex.DecodeString("f0f1f2f3f4f5f6f7f8f9")
	key, err := derive(SHA256, ikm, salt, string(info))
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(key[:]); got != "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf" {
		t.Fatalf("okm %s", got)
	}
}

// Every supported key exchange agrees on a key, and the public keys have
// the lengths the reference's DER encodings have.
func TestKeyExchange(t *testing.T) {
	sizes := map[uint16]int{Prime256v1: 91, X25519: 44, Secp384r1: 120, Secp521r1: 158}
	for _, nid := range []uint16{Prime256v1, X25519, Secp384r1, Secp521r1, MLKEM768, MLKEM1024} {
		t.Run(KexName(nid), func(t *testing.T) {
			e, err := NewEphemeral(nid)
			if err != nil {
				t.Fatal(err)
			}
			if n, ok := sizes[nid]; ok && len(e.Public) != n {
				t.Errorf("public key of %d bytes, want %d", len(e.Public), n)
			}
			if got, err := KexOf(e.Public); err != nil || got != nid {
				t.Fatalf("KexOf = %d %v", got, err)
			}
			reply, skey, got, err := Answer(e.Public, Prime256v1, SHA384)
			if err != nil || got != nid {
				t.Fatalf("Answer: %v (%d)", err, got)
			}
			ckey, err := e.Finish(reply, SHA384)
			if err != nil {
				t.Fatal(err)
			}
			if ckey != skey {
				t.Fatal("the two sides derived different keys")
			}
			if k2, _ := e.Finish(reply, SHA256); k2 == ckey {
				t.Fatal("the KDF digest does not change the key")
			}
		})
	}
	e, _ := NewEphemeral(Prime256v1)
	if _, _, _, err := Answer(e.Public, Secp384r1, SHA256); !errors.Is(err, ErrCrypt) || !strings.Contains(err.Error(), "weaker") {
		t.Errorf("a weaker key exchange than the server's: %v", err)
	}
	if _, _, _, err := Answer([]byte{0x30, 0x03, 1, 2, 3}, 0, SHA256); !errors.Is(err, ErrCrypt) {
		t.Errorf("garbage: %v", err)
	}
	if _, err := NewEphemeral(X448); !errors.Is(err, ErrCrypt) {
		t.Errorf("X448: %v", err)
	}
}

func TestDHESaltOrder(t *testing.T) {
	a, b := []byte{1, 2}, []byte{1, 2, 0}
	if !bytes.Equal(dheSalt(a, b), dheSalt(b, a)) {
		t.Fatal("the salt depends on who computes it")
	}
}

var allCiphers = []uint16{AES128GCM, AES192GCM, AES256GCM, ChaCha20Poly1305, AES128CTR, AES192CTR, AES256CTR}

func key(b byte) [KeyLen]byte {
	var k [KeyLen]byte
	for i := range k {
		k[i] = b + byte(i)
	}
	return k
}

func TestSealOpen(t *testing.T) {
	for _, nid := range allCiphers {
		t.Run(CipherName(nid), func(t *testing.T) {
			tx, _ := New(nid, key(1))
			rx, _ := New(nid, key(1))
			msg := []byte("the FRCT header and the SDU, encrypted together")
			p, err := tx.Seal(nil, msg)
			if err != nil {
				t.Fatal(err)
			}
			if len(p) != len(msg)+tx.Overhead() || bytes.Contains(p, msg[:16]) {
				t.Fatalf("sealed %d bytes: % x", len(p), p)
			}
			wire := append([]byte(nil), p...)
			out, err := rx.Open(p)
			if err != nil || !bytes.Equal(out, msg) {
				t.Fatalf("open: %q %v", out, err)
			}
			if _, err := rx.Open(append([]byte(nil), wire...)); !errors.Is(err, ErrCrypt) || rx.Stats().Replayed != 1 {
				t.Fatalf("a replay: %v %+v", err, rx.Stats())
			}
			if tx.tagsz == 0 {
				return // CTR has no integrity
			}
			q, _ := tx.Seal(nil, msg)
			q[len(q)-20] ^= 1
			if _, err := rx.Open(q); !errors.Is(err, ErrCrypt) || rx.Stats().BadAuth != 1 {
				t.Fatalf("a flipped bit: %v %+v", err, rx.Stats())
			}
			other, _ := New(nid, key(2))
			r, _ := tx.Seal(nil, msg)
			if _, err := other.Open(r); err == nil {
				t.Fatal("opened with another key")
			}
		})
	}
}

// Both ends rotate their keys in step (here every 2^7 packets, as the
// reference's tests do) across many rotations, with traffic both ways and
// packets a little out of order round each rotation.
func TestKeyRotation(t *testing.T) {
	a, _ := newCtx(AES256GCM, key(7), 7)
	b, _ := newCtx(AES256GCM, key(7), 7)
	var held [][]byte
	for i := range 2000 {
		msg := []byte{byte(i), byte(i >> 8)}
		p, err := a.Seal(nil, msg)
		if err != nil {
			t.Fatal(err)
		}
		if i%50 == 7 { // deliver late, after the next one
			held = append(held, p)
			continue
		}
		if _, err := b.Open(p); err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		for _, h := range held {
			if _, err := b.Open(h); err != nil {
				t.Fatalf("late packet before %d: %v", i, err)
			}
		}
		held = held[:0]
		if i%3 == 0 { // and some the other way
			q, _ := b.Seal(nil, msg)
			if _, err := a.Open(q); err != nil {
				t.Fatalf("reply %d: %v", i, err)
			}
		}
	}
	if a.curKey == key(7) || a.curKey != b.curKey {
		t.Fatal("the keys did not rotate in step")
	}
}

func TestSealOpenDoNotAllocate(t *testing.T) {
	tx, _ := New(AES256GCM, key(3))
	rx, _ := New(AES256GCM, key(3))
	msg := make([]byte, 1400)
	buf := make([]byte, 0, 1500)
	for range replayWindow * 2 { // the replay filter at its size
		p, _ := tx.Seal(buf[:0], msg)
		rx.Open(p)
	}
	allocs := testing.AllocsPerRun(1000, func() {
		p, _ := tx.Seal(buf[:0], msg)
		if _, err := rx.Open(p); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per packet", allocs)
	}
}

func BenchmarkSealOpen(b *testing.B) {
	for _, nid := range []uint16{AES256GCM, ChaCha20Poly1305} {
		b.Run(CipherName(nid), func(b *testing.B) {
			tx, _ := New(nid, key(3))
			rx, _ := New(nid, key(3))
			msg := make([]byte, 1400)
			buf := make([]byte, 0, 1500)
			b.SetBytes(1400)
			b.ReportAllocs()
			for b.Loop() {
				p, _ := tx.Seal(buf[:0], msg)
				if _, err := rx.Open(p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkKeyExchange(b *testing.B) {
	for _, nid := range []uint16{Prime256v1, X25519, MLKEM768} {
		b.Run(KexName(nid), func(b *testing.B) {
			for b.Loop() {
				e, _ := NewEphemeral(nid)
				reply, _, _, _ := Answer(e.Public, 0, SHA256)
				e.Finish(reply, SHA256)
			}
		})
	}
}

func FuzzParseConf(f *testing.F) {
	f.Add("kex = X25519\ncipher = aes-128-gcm\n")
	f.Add("# c\nnone\nkdf=sha3-512\n")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseConf(strings.NewReader(s), "f")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "invalid argument: f") {
				t.Fatalf("error without the file: %v", err)
			}
			return
		}
		if c.Enabled() && (CipherRank(c.Cipher) <= 0 || KexRank(c.Kex) <= 0 || DigestRank(c.KDF) <= 0) {
			t.Fatalf("accepted %+v", *c)
		}
	})
}

// FuzzOpen: arbitrary packets never open and never panic.
func FuzzOpen(f *testing.F) {
	tx, _ := New(AES256GCM, key(9))
	p, _ := tx.Seal(nil, []byte("hello"))
	f.Add(p)
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		rx, _ := New(AES256GCM, key(9))
		if bytes.Equal(b, p) {
			return
		}
		if out, err := rx.Open(append([]byte(nil), b...)); err == nil {
			t.Fatalf("a forged packet opened: %q", out)
		}
	})
}

// The identifiers on the wire are OpenSSL's NIDs (obj_mac.h), which the
// reference sends; a reference node was the check for the SHA-3 ones.
func TestNIDs(t *testing.T) {
	for name, want := range map[string]uint16{
		"sha256": 672, "sha384": 673, "sha512": 674, "sha3-256": 1097, "sha3-384": 1098, "sha3-512": 1099,
		"blake2s256": 1057, "blake2b512": 1056,
	} {
		a, ok := byName(digestList, name)
		if !ok || a.nid != want {
			t.Errorf("%s: NID %d, want %d", name, a.nid, want)
		}
	}
	for name, want := range map[string]uint16{"aes-128-gcm": 895, "aes-256-gcm": 901, "chacha20-poly1305": 1018, "aes-256-ctr": 906} {
		if a, _ := byName(cipherList, name); a.nid != want {
			t.Errorf("%s: NID %d, want %d", name, a.nid, want)
		}
	}
	for name, want := range map[string]uint16{"prime256v1": 415, "X25519": 1034, "secp384r1": 715, "secp521r1": 716} {
		if a, _ := byName(kexList, name); a.nid != want {
			t.Errorf("%s: NID %d, want %d", name, a.nid, want)
		}
	}
}
