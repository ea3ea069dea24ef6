package oap

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/o7s/ouroboros/stack/crypt"
	"github.com/o7s/ouroboros/stack/errs"
)

// Cred is one side's credentials for a name: its certificate and the
// private key that signs its OAP messages.
type Cred struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

// LoadCred reads a certificate and a private key (PEM). When either file
// is absent the side is unauthenticated: nil and no error.
func LoadCred(crtPath, keyPath string) (*Cred, error) {
	crtPEM, err := os.ReadFile(crtPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errs.ErrAuth, err)
	}
	keyPEM, err := os.ReadFile(keyPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errs.ErrAuth, err)
	}
	b, _ := pem.Decode(crtPEM)
	if b == nil || b.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%w: %s holds no PEM certificate", errs.ErrAuth, crtPath)
	}
	cert, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", errs.ErrAuth, crtPath, err)
	}
	k, _ := pem.Decode(keyPEM)
	if k == nil {
		return nil, fmt.Errorf("%w: %s holds no PEM key", errs.ErrAuth, keyPath)
	}
	var key any
	switch k.Type {
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(k.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(k.Bytes)
	default:
		key, err = x509.ParsePKCS8PrivateKey(k.Bytes)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", errs.ErrAuth, keyPath, err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%w: %s: a %T key cannot sign", errs.ErrAuth, keyPath, key)
	}
	return &Cred{Cert: cert, Key: signer}, nil
}

// LoadPool reads every certificate (PEM) in the files of a directory; a
// missing directory is an empty pool.
func LoadPool(dir string) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return pool, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errs.ErrAuth, err)
	}
	for _, e := range ents {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errs.ErrAuth, err)
		}
		pool.AppendCertsFromPEM(b)
	}
	return pool, nil
}

// Trust is what a side checks the other's certificate against: the
// trusted CAs and the untrusted intermediates.
type Trust struct {
	Roots, Intermediates *x509.CertPool
}

// sigHash is the digest a signature uses: the message's md, or SHA-256
// when it names none (OpenSSL's default for ECDSA and RSA).
func sigHash(md uint16) (crypto.Hash, error) {
	switch md {
	case 0, crypt.SHA256:
		return crypto.SHA256, nil
	case crypt.SHA384:
		return crypto.SHA384, nil
	case crypt.SHA512:
		return crypto.SHA512, nil
	case crypt.SHA3_256:
		return crypto.SHA3_256, nil
	case crypt.SHA3_384:
		return crypto.SHA3_384, nil
	case crypt.SHA3_512:
		return crypto.SHA3_512, nil
	}
	return 0, fmt.Errorf("%w: signatures with digest %s are not supported", errs.ErrAuth, crypt.DigestName(md))
}

// sign signs msg with the credentials: ECDSA (DER), RSA (PKCS #1 v1.5) or
// Ed25519 (its own hash), as OpenSSL's EVP_DigestSign does.
func (c *Cred) sign(msg []byte, md uint16) ([]byte, error) {
	if _, ok := c.Key.(ed25519.PrivateKey); ok {
		return c.Key.Sign(rand.Reader, msg, crypto.Hash(0))
	}
	h, err := sigHash(md)
	if err != nil {
		return nil, err
	}
	d := h.New()
	d.Write(msg)
	sig, err := c.Key.Sign(rand.Reader, d.Sum(nil), h)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errs.ErrAuth, err)
	}
	return sig, nil
}

// verify checks the certificate of a message against the trust and the
// signature over the signed part; it returns the certificate's common
// name.
func (t *Trust) verify(crt, signed, sig []byte, md uint16) (string, error) {
	cert, err := x509.ParseCertificate(crt)
	if err != nil {
		return "", fmt.Errorf("%w: the peer's certificate: %w", errs.ErrAuth, err)
	}
	opts := x509.VerifyOptions{KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}
	if t != nil {
		opts.Roots, opts.Intermediates = t.Roots, t.Intermediates
	}
	if opts.Roots == nil {
		opts.Roots = x509.NewCertPool() // never the system's: only the configured CAs
	}
	if _, err := cert.Verify(opts); err != nil {
		return "", fmt.Errorf("%w: the peer's certificate (%s): %w", errs.ErrAuth, cert.Subject.CommonName, err)
	}
	switch pub := cert.PublicKey.(type) {
	case ed25519.PublicKey:
		if !ed25519.Verify(pub, signed, sig) {
			return "", fmt.Errorf("%w: bad signature", errs.ErrAuth)
		}
	case *ecdsa.PublicKey, *rsa.PublicKey:
		h, err := sigHash(md)
		if err != nil {
			return "", err
		}
		d := h.New()
		d.Write(signed)
		sum := d.Sum(nil)
		ok := false
		if k, isEC := pub.(*ecdsa.PublicKey); isEC {
			ok = ecdsa.VerifyASN1(k, sum, sig)
		} else {
			ok = rsa.VerifyPKCS1v15(pub.(*rsa.PublicKey), h, sum, sig) == nil
		}
		if !ok {
			return "", fmt.Errorf("%w: bad signature", errs.ErrAuth)
		}
	default:
		return "", fmt.Errorf("%w: a %T key in the peer's certificate", errs.ErrAuth, pub)
	}
	return cert.Subject.CommonName, nil
}
