package dev_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/o7s/ouroboros/stack/ctl"
	"github.com/o7s/ouroboros/stack/dev"
	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/stack/irm"
	"github.com/o7s/ouroboros/stack/qos"
)

// secDir writes a security directory with the given server and client
// enc.conf contents for the name srv ("-": no file).
func secDir(t testing.TB, server, client string) string {
	d := t.TempDir()
	for side, conf := range map[string]string{"server": server, "client": client} {
		if conf == "-" {
			continue
		}
		p := filepath.Join(d, side, "srv")
		os.MkdirAll(p, 0o755)
		if err := os.WriteFile(filepath.Join(p, "enc.conf"), []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

// An encrypted flow carries SDUs intact both ways, on raw and reliable
// QoS, directly and through an IPCP; both ends hold the cipher.
func TestEncryptedFlow(t *testing.T) {
	for _, tc := range []struct {
		name, server, client, cipher string
	}{
		{"client asks", "-", "", "aes-256-gcm"},
		{"server and client", "cipher = chacha20-poly1305\n", "kex = X25519\n", "chacha20-poly1305"},
		{"ml-kem", "-", "kex = ML-KEM-768\ncipher = aes-128-gcm\n", "aes-128-gcm"},
	} {
		for _, q := range []string{"raw", "data"} {
			t.Run(tc.name+"/"+q, func(t *testing.T) {
				forBoth(t, func(t *testing.T, direct bool) {
					qs, _ := qos.ByName(q)
					a, b, _, err := pairSec(t, direct, qs, secDir(t, tc.server, tc.client))
					if err != nil {
						t.Fatalf("%s, %s: %v", tc.name, q, err)
					}
					if a.Cipher() != tc.cipher || b.Cipher() != tc.cipher {
						t.Fatalf("%s: ciphers %q and %q, want %q", tc.name, a.Cipher(), b.Cipher(), tc.cipher)
					}
					if a.MaxSDU() > dev.MaxSDU-28 {
						t.Errorf("MaxSDU %d leaves no room for IV and tag", a.MaxSDU())
					}
					sum := sha256.New()
					b.SetReadTimeout(5 * time.Second)
					a.SetReadTimeout(5 * time.Second)
					buf := make([]byte, 2000)
					for i := range 200 {
						m := bytes.Repeat([]byte{byte(i)}, 4+i*7)
						binary.BigEndian.PutUint32(m, uint32(i))
						if _, err := a.Write(m); err != nil {
							t.Fatal(err)
						}
						n, err := b.Read(buf)
						if err != nil || !bytes.Equal(buf[:n], m) {
							t.Fatalf("SDU %d: %v, %d bytes", i, err, n)
						}
						sum.Write(buf[:n])
						if _, err := b.Write(buf[:n]); err != nil {
							t.Fatal(err)
						}
						if n, err := a.Read(buf); err != nil || !bytes.Equal(buf[:n], m) {
							t.Fatalf("echo %d: %v", i, err)
						}
					}
					if st, ok := b.CryptStats(); !ok || st.Opened < 200 || st.BadAuth != 0 {
						t.Fatalf("receiver's counters %+v", st)
					}
				})
			})
		}
	}
}

// A name whose server side has encryption refuses a client without it:
// the allocation fails with ErrCrypt, at once, and nothing stays
// allocated. A broken enc.conf fails the allocation naming the file and
// line.
func TestEncryptionRefused(t *testing.T) {
	forBoth(t, func(t *testing.T, direct bool) {
		start := time.Now()
		_, _, n, err := pairSec(t, direct, qos.Raw, secDir(t, "", "-"))
		if !errors.Is(err, dev.ErrCrypt) {
			t.Fatalf("a clear request to an encrypted name: %v, want ErrCrypt", err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("the refusal took %v", d)
		}
		if fl := n.Flows(); len(fl) > 1 { // the server's pending accept may stay
			t.Errorf("flows left: %+v", fl)
		}
		_, _, _, err = pairSec(t, direct, qos.Raw, secDir(t, "-", "# ours\ncipher = des\n"))
		if err == nil || !strings.Contains(err.Error(), "client/srv/enc.conf:2: unknown cipher \"des\"") {
			t.Fatalf("a broken enc.conf: %v", err)
		}
	})
}

// BenchmarkAlloc allocates and closes flows through the local IPCP of one
// node, clear and with the key exchange in the allocation (P-256 and
// X25519, AES-256-GCM): the difference is the crypto's cost, which
// crypt's BenchmarkKeyExchange reports alone.
func BenchmarkAlloc(b *testing.B) {
	for _, tc := range []struct{ name, conf string }{{"clear", "-"}, {"prime256v1", ""}, {"X25519", "kex = X25519\n"}} {
		b.Run(tc.name, func(b *testing.B) {
			sock := filepath.Join(b.TempDir(), "irm.sock")
			n, err := irm.Start(irm.Config{Sock: sock, NoDirect: true, SecurityDir: secDir(b, "-", tc.conf)})
			if err != nil {
				b.Fatal(err)
			}
			defer n.Close()
			id, _ := n.CreateIPCP("lo", ipcp.Local)
			n.BootstrapIPCP(context.Background(), id, ipcp.Config{Layer: "local", Hash: ipcp.SHA3_256})
			n.CreateName("srv", ctl.Spillover)
			n.RegName("srv", id)
			srv, _ := dev.DialAs(context.Background(), sock, "srv")
			cli, _ := dev.DialAs(context.Background(), sock, "cli")
			defer srv.Close()
			defer cli.Close()
			n.BindProcess(srv.PID(), "srv")
			acc := make(chan *dev.Flow)
			go func() {
				for {
					f, err := srv.Accept(context.Background())
					if err != nil {
						close(acc)
						return
					}
					acc <- f
				}
			}()
			b.ReportAllocs()
			for b.Loop() {
				f, err := cli.Alloc(context.Background(), "srv", qos.Raw)
				if err != nil {
					b.Fatal(err)
				}
				g := <-acc
				if (f.Cipher() == "") != (tc.conf == "-") {
					b.Fatalf("cipher %q", f.Cipher())
				}
				f.Close()
				g.Close()
			}
		})
	}
}

// BenchmarkEncryptedThroughput writes 1400-byte SDUs one way on a direct
// flow, clear and sealed with AES-256-GCM, raw and data: the ratio of
// the sealed figures to the clear ones is encryption's cost.
func BenchmarkEncryptedThroughput(b *testing.B) {
	for _, q := range []string{"raw", "data"} {
		for _, tc := range []struct{ name, conf string }{{"clear", "-"}, {"aes-256-gcm", ""}} {
			b.Run(q+"/"+tc.name, func(b *testing.B) {
				qs, _ := qos.ByName(q)
				x, y, _, err := pairSec(b, true, qs, secDir(b, "-", tc.conf))
				if err != nil {
					b.Fatal(err)
				}
				go func() {
					buf := make([]byte, 2048)
					for {
						if _, err := y.Read(buf); err != nil {
							return
						}
					}
				}()
				msg := make([]byte, 1400)
				b.SetBytes(1400)
				b.ReportAllocs()
				for b.Loop() {
					if _, err := x.Write(msg); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// writeCert writes a CA (if dir/cacert has none yet, it makes one) and a
// certificate for cn signed by it, with its key, into dir/side/srv.
func writeCert(t *testing.T, dir, side, cn string, trusted bool) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "lab CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, _ := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	ca, _ := x509.ParseCertificate(caDER)
	if trusted {
		os.MkdirAll(filepath.Join(dir, "cacert"), 0o755)
		os.WriteFile(filepath.Join(dir, "cacert", side+".pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o644)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	p := filepath.Join(dir, side, "srv")
	os.MkdirAll(p, 0o755)
	os.WriteFile(filepath.Join(p, "crt.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(filepath.Join(p, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)
}

// Both ends authenticate with certificates from CAs in the security
// directory: the flow is allocated and encrypted. A server certificate
// that names another service, or one no trusted CA signed, fails the
// allocation with ErrAuth.
func TestAuthenticatedFlow(t *testing.T) {
	forBoth(t, func(t *testing.T, direct bool) {
		dir := secDir(t, "-", "")
		writeCert(t, dir, "server", "srv", true)
		writeCert(t, dir, "client", "a client", true)
		a, b, _, err := pairSec(t, direct, qos.Raw, dir)
		if err != nil {
			t.Fatal(err)
		}
		if a.Cipher() == "" || b.Cipher() == "" {
			t.Fatal("not encrypted")
		}
		for _, tc := range []struct {
			cn      string
			trusted bool
		}{{"impostor", true}, {"srv", false}} {
			dir := secDir(t, "-", "")
			writeCert(t, dir, "server", tc.cn, tc.trusted)
			if _, _, _, err := pairSec(t, direct, qos.Raw, dir); !errors.Is(err, dev.ErrAuth) {
				t.Errorf("server certificate %q (trusted CA %v): %v, want ErrAuth", tc.cn, tc.trusted, err)
			}
		}
	})
}
