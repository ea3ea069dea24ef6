package crypt

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/o7s/ouroboros/stack/errs"
)

// KEM modes: who encapsulates.
const (
	KEMServer = "server" // the server encapsulates to the client's ephemeral key (default)
	KEMClient = "client" // the client encapsulates to the server's static key
)

// Conf is one side's encryption configuration for a name (enc.conf).
type Conf struct {
	Kex     uint16 // 0: no key exchange ("none")
	Cipher  uint16
	KDF     uint16
	Digest  uint16
	KEMMode string
}

// DefaultConf is what an enc.conf file starts from.
func DefaultConf() Conf {
	return Conf{Kex: Prime256v1, Cipher: AES256GCM, KDF: SHA256, Digest: SHA256, KEMMode: KEMServer}
}

// Enabled tells whether the configuration asks for a key exchange.
func (c *Conf) Enabled() bool { return c != nil && c.Kex != 0 }

func (c Conf) String() string {
	if c.Kex == 0 {
		return "none"
	}
	return fmt.Sprintf("kex=%s cipher=%s kdf=%s digest=%s kem_mode=%s",
		KexName(c.Kex), CipherName(c.Cipher), DigestName(c.KDF), DigestName(c.Digest), c.KEMMode)
}

// LoadConf reads an enc.conf file. A missing file is no configuration:
// nil and no error.
func LoadConf(path string) (*Conf, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errs.ErrInvalid, err)
	}
	defer f.Close()
	return ParseConf(f, path)
}

// ParseConf reads enc.conf lines (spec APP §5.2): # comments and empty
// lines are skipped, a line "none" turns encryption off, and key = value
// sets kex, cipher, kdf, digest or kem_mode; other keys are ignored. An
// unknown or unsupported value is an error naming the file and line.
func ParseConf(r io.Reader, path string) (*Conf, error) {
	c := DefaultConf()
	sc := bufio.NewScanner(r)
	for ln := 1; sc.Scan(); ln++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if line == "none" {
			c = Conf{}
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("%w: %s:%d: %q is not key = value", errs.ErrInvalid, path, ln, line)
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if err := c.set(k, v); err != nil {
			return nil, fmt.Errorf("%w: %s:%d: %w", errs.ErrInvalid, path, ln, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", errs.ErrInvalid, path, err)
	}
	return &c, nil
}

func (c *Conf) set(k, v string) error {
	pick := func(list []alg, what string) (uint16, error) {
		a, ok := byName(list, v)
		switch {
		case !ok:
			return 0, fmt.Errorf("unknown %s %q (one of: %s)", what, v, names(list))
		case !a.supported:
			return 0, fmt.Errorf("%s %q is %v (use one of: %s)", what, v, errUnsupported, supportedNames(list))
		}
		return a.nid, nil
	}
	var err error
	switch k {
	case "kex":
		c.Kex, err = pick(kexList, "key exchange")
	case "cipher":
		c.Cipher, err = pick(cipherList, "cipher")
	case "kdf":
		c.KDF, err = pick(digestList, "kdf digest")
	case "digest":
		c.Digest, err = pick(digestList, "digest")
	case "kem_mode":
		switch v {
		case KEMServer:
			c.KEMMode = v
		case KEMClient:
			err = fmt.Errorf("kem_mode client (the client encapsulates to a static server key) is %v; use server", errUnsupported)
		default:
			err = fmt.Errorf("kem_mode %q: server or client", v)
		}
	}
	return err
}

func names(list []alg) string {
	s := make([]string, len(list))
	for i, a := range list {
		s[i] = a.name
	}
	return strings.Join(s, ", ")
}

func supportedNames(list []alg) string {
	var s []string
	for _, a := range list {
		if a.supported {
			s = append(s, a.name)
		}
	}
	return strings.Join(s, ", ")
}
