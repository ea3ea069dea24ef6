package oap

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/o7s/ouroboros/stack/crypt"
	"github.com/o7s/ouroboros/stack/errs"
)

type testCA struct {
	cert *x509.Certificate
	key  crypto.Signer
}

func newCA(t *testing.T) testCA {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return testCA{cert, key}
}

func (ca testCA) issue(t *testing.T, cn string, key crypto.Signer) *Cred {
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &Cred{Cert: cert, Key: key}
}

func (ca testCA) trust() *Trust {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return &Trust{Roots: p}
}

// Both ends authenticate with certificates of a CA the other trusts, with
// ECDSA, Ed25519 and RSA keys; an untrusted certificate, a certificate
// for another name, and a tampered signature are refused with ErrAuth.
func TestAuthentication(t *testing.T) {
	ca, other := newCA(t), newCA(t)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	enc := crypt.DefaultConf()
	for name, key := range map[string]crypto.Signer{"ecdsa": ecKey, "ed25519": edKey, "rsa": rsaKey} {
		t.Run(name, func(t *testing.T) {
			cli := Side{Enc: &enc, Cred: ca.issue(t, "client", key), Trust: ca.trust()}
			srv := Side{Enc: &enc, Cred: ca.issue(t, "srv", key), Trust: ca.trust()}
			r, err := NewRequestTo(time.Now(), "srv", cli)
			if err != nil {
				t.Fatal(err)
			}
			resp, skey, err := NewServer().RespondAs(r.Bytes, time.Now(), srv)
			if err != nil {
				t.Fatal(err)
			}
			ckey, err := r.Complete(resp)
			if err != nil || ckey != skey || !ckey.Encrypted() {
				t.Fatalf("complete: %v", err)
			}
			// The server does not trust the client's CA.
			if _, _, err := NewServer().RespondAs(r.Bytes, time.Now(), Side{Trust: other.trust()}); !errors.Is(err, errs.ErrAuth) {
				t.Errorf("an untrusted client: %v", err)
			}
			// A tampered request: the signature no longer matches.
			bad := append([]byte(nil), r.Bytes...)
			bad[20] ^= 1
			if _, _, err := NewServer().RespondAs(bad, time.Now(), srv); !errors.Is(err, errs.ErrAuth) {
				t.Errorf("a tampered request: %v", err)
			}
			// A server whose certificate names another service.
			r2, _ := NewRequestTo(time.Now(), "srv", Side{Enc: &enc, Trust: ca.trust()})
			resp2, _, err := NewServer().RespondAs(r2.Bytes, time.Now(), Side{Cred: ca.issue(t, "impostor", key)})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := r2.Complete(resp2); !errors.Is(err, errs.ErrAuth) {
				t.Errorf("a server certificate for another name: %v", err)
			}
		})
	}
}

func TestLoadCred(t *testing.T) {
	ca := newCA(t)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	cred := ca.issue(t, "srv", key)
	d := t.TempDir()
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	os.WriteFile(filepath.Join(d, "crt.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cred.Cert.Raw}), 0o644)
	os.WriteFile(filepath.Join(d, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600)
	os.MkdirAll(filepath.Join(d, "cacert"), 0o755)
	os.WriteFile(filepath.Join(d, "cacert", "ca.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw}), 0o644)
	c, err := LoadCred(filepath.Join(d, "crt.pem"), filepath.Join(d, "key.pem"))
	if err != nil || c == nil || c.Cert.Subject.CommonName != "srv" {
		t.Fatalf("LoadCred: %v %v", c, err)
	}
	if c, err := LoadCred(filepath.Join(d, "none.pem"), filepath.Join(d, "key.pem")); c != nil || err != nil {
		t.Fatalf("a missing certificate: %v %v, want unauthenticated", c, err)
	}
	os.WriteFile(filepath.Join(d, "bad.pem"), []byte("not pem"), 0o644)
	if _, err := LoadCred(filepath.Join(d, "bad.pem"), filepath.Join(d, "key.pem")); !errors.Is(err, errs.ErrAuth) {
		t.Fatalf("a broken certificate: %v", err)
	}
	pool, err := LoadPool(filepath.Join(d, "cacert"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Cert.Verify(x509.VerifyOptions{Roots: pool}); err != nil {
		t.Fatalf("the loaded pool does not verify: %v", err)
	}
}
