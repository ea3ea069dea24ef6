// Package oap is the flow allocation protocol's header (spec APP §5.4–5.7,
// SYSTEM §2.13): the IRM puts a request in every flow request it sends and
// answers it in the allocation response, inside the one round trip of the
// allocation. IPCPs carry it opaquely.
//
// What this version does: unauthenticated flows without encryption, the
// reference's behaviour for names with no security configuration. A
// request carries a random id and a timestamp and no certificate, key
// exchange or data; the response echoes the id and carries the hash of the
// request. A request that asks for encryption or carries a certificate is
// refused (ErrCrypt, ErrAuth): key exchange and authentication are not
// implemented yet, and are not faked.
package oap

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha3"
	"crypto/sha512"
	"encoding/binary"
	"fmt"
	"hash"
	"sync"
	"time"

	"github.com/o7s/ouroboros/stack/errs"
)

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

// Known NIDs (OpenSSL numbering): ciphers and digests.
var ciphers = map[uint16]bool{904: true, 905: true, 906: true, 895: true, 898: true, 901: true, 1018: true}

// digests maps a digest NID to its hash, nil where this build has none
// (the BLAKE2 family), and to its length.
var digests = map[uint16]struct {
	n   int
	new func() hash.Hash
}{
	1057: {32, nil}, 672: {32, sha256.New}, 1096: {32, func() hash.Hash { return sha3.New256() }},
	673: {48, sha512.New384}, 1097: {48, func() hash.Hash { return sha3.New384() }},
	1056: {64, nil}, 674: {64, sha512.New}, 1098: {64, func() hash.Hash { return sha3.New512() }},
}

// reqHashOf hashes a request with its digest, SHA-384 when it names none.
func reqHashOf(req []byte, md uint16) ([]byte, error) {
	if md == 0 {
		s := sha512.Sum384(req)
		return s[:], nil
	}
	d, ok := digests[md]
	if !ok || d.new == nil {
		return nil, fmt.Errorf("%w: request digest %d is not supported", errs.ErrCrypt, md)
	}
	h := d.new()
	h.Write(req)
	return h.Sum(nil), nil
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
	if h.Cipher != 0 && !ciphers[h.Cipher] {
		return h, fmt.Errorf("%w: unknown cipher %d", errs.ErrAuth, h.Cipher) // a decode error, as the reference
	}
	for _, nid := range []uint16{h.KDF, h.MD} {
		if _, ok := digests[nid]; nid != 0 && !ok {
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

// appendFixed appends an unsigned header with no certificate, kex or data.
func appendFixed(b []byte, id [idLen]byte, now time.Time) []byte {
	b = append(b, id[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(now.UnixNano()))
	return append(b, make([]byte, HeaderLen-idLen-8)...) // NIDs and lengths: 0
}

// Request is a client's pending request.
type Request struct {
	Bytes []byte
	id    [idLen]byte
	hash  []byte
}

// NewRequest builds a request: unsigned, without key exchange.
func NewRequest(now time.Time) *Request {
	r := &Request{}
	rand.Read(r.id[:])
	r.Bytes = appendFixed(make([]byte, 0, HeaderLen), r.id, now)
	r.hash, _ = reqHashOf(r.Bytes, 0)
	return r
}

// Complete checks the server's response to the request.
func (r *Request) Complete(resp []byte) error {
	h, err := Parse(resp, len(r.hash))
	if err != nil {
		return err
	}
	switch {
	case h.ID != r.id:
		return fmt.Errorf("%w: the response answers another request", errs.ErrCrypt)
	case !bytes.Equal(h.ReqHash, r.hash):
		return fmt.Errorf("%w: the response's request hash does not match", errs.ErrCrypt)
	case len(h.Crt) > 0:
		return fmt.Errorf("%w: the server authenticates with a certificate, which this version cannot verify yet", errs.ErrAuth)
	}
	return nil
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

// Respond checks a request and returns the response.
func (s *Server) Respond(req []byte, now time.Time) ([]byte, error) {
	h, err := Parse(req, 0)
	if err != nil {
		return nil, err
	}
	delta := now.Sub(time.Unix(0, int64(h.Stamp)))
	if delta < -FutureSlack || delta > ReplayWindow {
		return nil, fmt.Errorf("%w: request timestamp %v away from now", errs.ErrAuth, -delta)
	}
	if err := s.remember(seenKey{h.ID, h.Stamp}, now); err != nil {
		return nil, err
	}
	switch {
	case len(h.Crt) > 0:
		return nil, fmt.Errorf("%w: the client authenticates with a certificate, which this version cannot verify yet", errs.ErrAuth)
	case len(h.Kex) > 0 || h.Cipher != 0:
		return nil, fmt.Errorf("%w: the client asks for encryption, which this version does not have yet", errs.ErrCrypt)
	}
	rh, err := reqHashOf(req, h.MD)
	if err != nil {
		return nil, err
	}
	resp := appendFixed(make([]byte, 0, HeaderLen+len(rh)), h.ID, now)
	return append(resp, rh...), nil
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
		return fmt.Errorf("%w: replayed request", errs.ErrAuth)
	}
	s.seen[k] = now
	s.order = append(s.order, seenEntry{k, now})
	return nil
}
