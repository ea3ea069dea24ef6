// Package oap is the flow allocation protocol's header (spec APP §5.4–5.7,
// SYSTEM §2.13): the IRM puts a request in every flow request it sends and
// answers it in the allocation response, inside the one round trip of the
// allocation. IPCPs carry it opaquely.
//
// A request carries a random id and a timestamp; with the client's
// encryption configured for the name (enc.conf) it also carries the
// client's ephemeral public key and its choice of cipher, KDF and digest,
// and the response carries the server's public key (or KEM ciphertext)
// and the negotiated cipher and KDF, so that both ends derive the flow's
// key in the one round trip (package crypt). A server with encryption
// configured refuses a request without key exchange (ErrCrypt), and a
// client refuses a response that weakens its cipher or KDF (a downgrade).
// A side with credentials (a certificate and its key) sends its
// certificate and signs the message; the other side verifies the chain
// against its trusted CAs and the signature (ErrAuth when either fails),
// and a client checks that the server's certificate names the
// destination. Without credentials a side is anonymous, as in the
// reference.
package oap

import (
	"bytes"
	"crypto/rand"
	"crypto/sha512"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/o7s/ouroboros/stack/crypt"
	"github.com/o7s/ouroboros/stack/errs"
)

// ErrReplay is a request seen already within the replay window.
var ErrReplay = errors.New("replayed request")

// Header layout: 36 fixed bytes, all integers big-endian.
const (
	offID      = 0
	offStamp   = 16
	offCipher  = 24
	offKDF     = 26
	offMD      = 28
	offCrtLen  = 30
	offKexLen  = 32
	offDataLen = 34
	HeaderLen  = 36
	idLen      = 16
	kexLenMask = 0x3fff
)

// Freshness window of a request (OAP_REPLAY_TIMER, TIMESYNC_SLACK).
const (
	ReplayWindow = 20 * time.Second
	FutureSlack  = 100 * time.Millisecond
)

// Header is a decoded OAP header.
type Header struct {
	ID                 [idLen]byte
	Stamp              uint64 // ns since the Unix epoch
	Cipher, KDF, MD    uint16
	KexFlags           uint16 // F and R bits of the kex length field
	Crt, Kex, Data     []byte
	ReqHash, Signature []byte
}

// reqHashOf hashes a request with its digest, SHA-384 when it names none.
func reqHashOf(req []byte, md uint16) ([]byte, error) {
	if md == 0 {
		s := sha512.Sum384(req)
		return s[:], nil
	}
	h, err := crypt.Digest(md)
	if err != nil {
		return nil, err
	}
	d := h()
	d.Write(req)
	return d.Sum(nil), nil
}

// Parse decodes a header; hlen is the length of the request hash a
// response carries (0 for a request).
func Parse(b []byte, hlen int) (Header, error) {
	var h Header
	if len(b) < HeaderLen {
		return h, fmt.Errorf("%w: OAP header of %d bytes, at least %d", errs.ErrAuth, len(b), HeaderLen)
	}
	copy(h.ID[:], b[offID:])
	h.Stamp = binary.BigEndian.Uint64(b[offStamp:])
	h.Cipher = binary.BigEndian.Uint16(b[offCipher:])
	h.KDF = binary.BigEndian.Uint16(b[offKDF:])
	h.MD = binary.BigEndian.Uint16(b[offMD:])
	crt := int(binary.BigEndian.Uint16(b[offCrtLen:]))
	kexw := binary.BigEndian.Uint16(b[offKexLen:])
	kex, data := int(kexw&kexLenMask), int(binary.BigEndian.Uint16(b[offDataLen:]))
	h.KexFlags = kexw &^ kexLenMask
	if h.Cipher != 0 && !crypt.KnownCipher(h.Cipher) {
		return h, fmt.Errorf("%w: unknown cipher %d", errs.ErrAuth, h.Cipher) // a decode error, as the reference
	}
	for _, nid := range []uint16{h.KDF, h.MD} {
		if nid != 0 && !crypt.KnownDigest(nid) {
			return h, fmt.Errorf("%w: unknown digest %d", errs.ErrAuth, nid)
		}
	}
	end := HeaderLen + crt + kex + data + hlen
	if end > len(b) {
		return h, fmt.Errorf("%w: OAP header lengths exceed its %d bytes", errs.ErrAuth, len(b))
	}
	off := HeaderLen
	h.Crt, off = b[off:off+crt], off+crt
	h.Kex, off = b[off:off+kex], off+kex
	h.Data, off = b[off:off+data], off+data
	h.ReqHash, h.Signature = b[off:end], b[end:]
	if crt == 0 && len(h.Signature) > 0 {
		return h, fmt.Errorf("%w: unsigned OAP header with %d trailing bytes", errs.ErrAuth, len(h.Signature))
	}
	return h, nil
}

// fields are a header's variable contents.
type fields struct {
	cipher, kdf, md   uint16
	crt, kex, reqHash []byte
}

// appendHeader appends a header without data and without signature.
func appendHeader(b []byte, id [idLen]byte, now time.Time, f fields) []byte {
	b = append(b, id[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(now.UnixNano()))
	b = binary.BigEndian.AppendUint16(b, f.cipher)
	b = binary.BigEndian.AppendUint16(b, f.kdf)
	b = binary.BigEndian.AppendUint16(b, f.md)
	b = binary.BigEndian.AppendUint16(b, uint16(len(f.crt)))
	b = binary.BigEndian.AppendUint16(b, uint16(len(f.kex))&kexLenMask)
	b = binary.BigEndian.AppendUint16(b, 0) // no data
	b = append(b, f.crt...)
	b = append(b, f.kex...)
	return append(b, f.reqHash...)
}

// Side is one end's security for a name: its encryption configuration
// (nil: none), its credentials (nil: unauthenticated) and what it trusts
// the other end's certificate to be signed by.
type Side struct {
	Enc   *crypt.Conf
	Cred  *Cred
	Trust *Trust
}

// finish signs a message when the side has credentials.
func (sd Side) finish(b []byte, md uint16) ([]byte, error) {
	if sd.Cred == nil {
		return b, nil
	}
	sig, err := sd.Cred.sign(b, md)
	if err != nil {
		return nil, err
	}
	return append(b, sig...), nil
}

func (sd Side) crt() []byte {
	if sd.Cred == nil {
		return nil
	}
	return sd.Cred.Cert.Raw
}

// Key is what an allocation agreed: a cipher (0: none) and its key.
type Key struct {
	Cipher uint16
	Key    [crypt.KeyLen]byte
}

// Encrypted tells whether the flow is encrypted.
func (k Key) Encrypted() bool { return k.Cipher != 0 }

// Request is a client's pending request.
type Request struct {
	Bytes []byte
	id    [idLen]byte
	hash  []byte
	conf  *crypt.Conf
	eph   *crypt.Ephemeral
	trust *Trust
	dst   string
}

// NewRequest builds a request without key exchange.
func NewRequest(now time.Time) *Request {
	r, _ := NewRequestTo(now, "", Side{}) // fails only with a key exchange to make
	return r
}

// NewRequestTo builds the request of a client with security sd for the
// name dst: with a key exchange when sd.Enc asks for one, with its
// certificate and signed when sd.Cred is set. A server that answers with
// a certificate must be trusted by sd.Trust and be named dst.
func NewRequestTo(now time.Time, dst string, sd Side) (*Request, error) {
	r := &Request{trust: sd.Trust, dst: dst}
	rand.Read(r.id[:])
	f := fields{crt: sd.crt()}
	if sd.Enc != nil {
		f.md = sd.Enc.Digest
	}
	if sd.Enc.Enabled() {
		eph, err := crypt.NewEphemeral(sd.Enc.Kex)
		if err != nil {
			return nil, err
		}
		r.conf, r.eph = sd.Enc, eph
		f.cipher, f.kdf, f.kex = sd.Enc.Cipher, sd.Enc.KDF, eph.Public
	}
	b := appendHeader(make([]byte, 0, HeaderLen+len(f.crt)+len(f.kex)+128), r.id, now, f)
	var err error
	if r.Bytes, err = sd.finish(b, f.md); err != nil {
		return nil, err
	}
	if r.hash, err = reqHashOf(r.Bytes, f.md); err != nil {
		return nil, err
	}
	return r, nil
}

// Complete checks the server's response to the request and, when the
// client asked for encryption, returns the flow's key.
func (r *Request) Complete(resp []byte) (Key, error) {
	h, err := Parse(resp, len(r.hash))
	if err != nil {
		return Key{}, err
	}
	switch {
	case h.ID != r.id:
		return Key{}, fmt.Errorf("%w: the response answers another request", errs.ErrCrypt)
	case !bytes.Equal(h.ReqHash, r.hash):
		return Key{}, fmt.Errorf("%w: the response's request hash does not match", errs.ErrCrypt)
	}
	if len(h.Crt) > 0 { // server authentication is optional, but when offered it must hold
		cn, err := r.trust.verify(h.Crt, resp[:len(resp)-len(h.Signature)], h.Signature, h.MD)
		if err != nil {
			return Key{}, err
		}
		if r.dst != "" && cn != r.dst {
			return Key{}, fmt.Errorf("%w: the server's certificate names %q, not %q", errs.ErrAuth, cn, r.dst)
		}
	}
	if r.eph == nil {
		return Key{}, nil
	}
	switch {
	case h.Cipher == 0:
		return Key{}, fmt.Errorf("%w: the server agreed to no cipher", errs.ErrCrypt)
	case crypt.CipherRank(h.Cipher) < crypt.CipherRank(r.conf.Cipher):
		return Key{}, fmt.Errorf("%w: the server chose %s, weaker than %s (a downgrade)", errs.ErrCrypt,
			crypt.CipherName(h.Cipher), crypt.CipherName(r.conf.Cipher))
	}
	kdf := r.conf.KDF
	if h.KDF != 0 {
		if crypt.DigestRank(h.KDF) < crypt.DigestRank(kdf) {
			return Key{}, fmt.Errorf("%w: the server chose KDF %s, weaker than %s (a downgrade)", errs.ErrCrypt,
				crypt.DigestName(h.KDF), crypt.DigestName(kdf))
		}
		kdf = h.KDF
	}
	k, err := r.eph.Finish(h.Kex, kdf)
	if err != nil {
		return Key{}, err
	}
	return Key{Cipher: h.Cipher, Key: k}, nil
}

// Server answers requests and remembers them for the replay window.
type Server struct {
	mu   sync.Mutex // guards seen and order
	seen map[seenKey]time.Time
	// order holds the keys of seen in the order they came, to forget them
	// from the oldest without going over the whole cache every request.
	order []seenEntry
}

type seenKey struct {
	id    [idLen]byte
	stamp uint64
}

type seenEntry struct {
	k seenKey
	t time.Time
}

// NewServer returns a server with an empty replay cache.
func NewServer() *Server { return &Server{seen: make(map[seenKey]time.Time)} }

// Respond checks a request and returns the response, for a server with no
// encryption configured.
func (s *Server) Respond(req []byte, now time.Time) ([]byte, error) {
	resp, _, err := s.RespondAs(req, now, Side{})
	return resp, err
}

// RespondAs checks a request for a name whose server side has security sd
// and returns the response and the flow's key. A client certificate must
// be trusted by sd.Trust; a client without one is accepted, anonymous.
func (s *Server) RespondAs(req []byte, now time.Time, sd Side) ([]byte, Key, error) {
	conf := sd.Enc
	h, err := Parse(req, 0)
	if err != nil {
		return nil, Key{}, err
	}
	delta := now.Sub(time.Unix(0, int64(h.Stamp)))
	if delta < -FutureSlack || delta > ReplayWindow {
		return nil, Key{}, fmt.Errorf("%w: request timestamp %v away from now", errs.ErrAuth, -delta)
	}
	if err := s.remember(seenKey{h.ID, h.Stamp}, now); err != nil {
		return nil, Key{}, err
	}
	if len(h.Crt) > 0 {
		if _, err := sd.Trust.verify(h.Crt, req[:len(req)-len(h.Signature)], h.Signature, h.MD); err != nil {
			return nil, Key{}, err
		}
	}
	rh, err := reqHashOf(req, h.MD)
	if err != nil {
		return nil, Key{}, err
	}
	var f fields
	var key Key
	if len(h.Kex) == 0 {
		if conf.Enabled() {
			return nil, Key{}, fmt.Errorf("%w: this name takes only encrypted flows, and the request has no key exchange", errs.ErrCrypt)
		}
	} else if f, key, err = negotiate(h, conf); err != nil {
		return nil, Key{}, err
	}
	f.reqHash, f.crt = rh, sd.crt()
	if conf != nil {
		f.md = conf.Digest
	}
	resp := appendHeader(make([]byte, 0, HeaderLen+len(f.crt)+len(f.kex)+len(rh)+128), h.ID, now, f)
	if resp, err = sd.finish(resp, f.md); err != nil {
		return nil, Key{}, err
	}
	return resp, key, nil
}

// negotiate picks the stronger cipher and KDF of the client's and the
// server's, and answers the key exchange.
func negotiate(h Header, conf *crypt.Conf) (fields, Key, error) {
	var mine crypt.Conf
	if conf.Enabled() {
		mine = *conf
	}
	if h.KexFlags != 0 {
		return fields{}, Key{}, fmt.Errorf("%w: a hybrid or client-encapsulated KEM, which this version does not have", errs.ErrCrypt)
	}
	f := fields{cipher: h.Cipher, kdf: h.KDF, md: mine.Digest}
	if crypt.CipherRank(mine.Cipher) >= crypt.CipherRank(h.Cipher) {
		f.cipher = mine.Cipher
	}
	if f.cipher == 0 {
		return fields{}, Key{}, fmt.Errorf("%w: neither end names a cipher", errs.ErrCrypt)
	}
	if crypt.DigestRank(mine.KDF) > crypt.DigestRank(f.kdf) {
		f.kdf = mine.KDF
	}
	reply, k, _, err := crypt.Answer(h.Kex, mine.Kex, f.kdf)
	if err != nil {
		return fields{}, Key{}, err
	}
	f.kex = reply
	return f, Key{Cipher: f.cipher, Key: k}, nil
}

func (s *Server) remember(k seenKey, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	// Forget from the oldest on until one is still fresh. Arrival times
	// grow, so this forgets every expired entry; if a caller's clock steps
	// back, entries behind a fresher one are forgotten a little late, which
	// only refuses a replay a little longer.
	for len(s.order) > 0 && now.Sub(s.order[0].t) > ReplayWindow {
		delete(s.seen, s.order[0].k)
		s.order = s.order[1:]
	}
	if _, ok := s.seen[k]; ok {
		return fmt.Errorf("%w: %w", errs.ErrAuth, ErrReplay)
	}
	s.seen[k] = now
	s.order = append(s.order, seenEntry{k, now})
	return nil
}
