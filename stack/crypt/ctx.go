package crypt

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"sync"

	"golang.org/x/crypto/chacha20poly1305"
)

// RotationBit is KEY_ROTATION_BIT: the key rotates every 2^20 packets.
const RotationBit = 20

// Stats counts what a context dropped.
type Stats struct {
	Sealed, Opened uint64
	BadAuth        uint64 // failed to open: tampered, or a key we no longer hold
	Replayed       uint64 // an IV seen among the last ones: dropped
	Short          uint64 // shorter than IV and tag
}

// suite is a keyed cipher.
type suite struct {
	aead  cipher.AEAD
	block cipher.Block // CTR modes
}

// Ctx is a flow's encryption context (spec APP §5.9): one for both
// directions, as the reference has it, with one packet counter and key
// phase. Safe for concurrent use.
type Ctx struct {
	mu        sync.Mutex
	nid       uint16
	keyLen    int
	ivsz      int
	tagsz     int
	cur, prev *suite
	curKey    [KeyLen]byte
	prevKey   [KeyLen]byte
	salt      [32]byte // SHA-256 of the first key: the rotations' salt
	cntr      uint32
	mask      uint32
	age       uint32
	phase     bool
	replay    ivFilter
	tmp       []byte
	stats     Stats
}

// New returns the context for cipher nid with the negotiated key.
func New(nid uint16, key [KeyLen]byte) (*Ctx, error) { return newCtx(nid, key, RotationBit) }

func newCtx(nid uint16, key [KeyLen]byte, rotBit uint) (*Ctx, error) {
	c := &Ctx{nid: nid, mask: 1 << rotBit, curKey: key, salt: sha256.Sum256(key[:])}
	switch nid {
	case AES128GCM, AES128CTR:
		c.keyLen = 16
	case AES192GCM, AES192CTR:
		c.keyLen = 24
	case AES256GCM, AES256CTR, ChaCha20Poly1305:
		c.keyLen = 32
	default:
		return nil, fmt.Errorf("%w: cipher %s is %v", ErrCrypt, CipherName(nid), errUnsupported)
	}
	switch nid {
	case AES128CTR, AES192CTR, AES256CTR:
		c.ivsz = aes.BlockSize
	default:
		c.ivsz, c.tagsz = 12, 16
	}
	var err error
	if c.cur, err = c.suite(key); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Ctx) suite(key [KeyLen]byte) (*suite, error) {
	if c.nid == ChaCha20Poly1305 {
		a, err := chacha20poly1305.New(key[:])
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrCrypt, err)
		}
		return &suite{aead: a}, nil
	}
	b, err := aes.NewCipher(key[:c.keyLen])
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCrypt, err)
	}
	if c.tagsz == 0 {
		return &suite{block: b}, nil
	}
	a, err := cipher.NewGCM(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCrypt, err)
	}
	return &suite{aead: a}, nil
}

// Cipher is the context's cipher NID.
func (c *Ctx) Cipher() uint16 { return c.nid }

// Overhead is what Seal adds to a packet: the IV and the tag.
func (c *Ctx) Overhead() int { return c.ivsz + c.tagsz }

// Stats returns the counters.
func (c *Ctx) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// rotate moves to the next key: HKDF-SHA-256 of the current one. c.mu is
// held.
func (c *Ctx) rotate() error {
	next, err := derive(SHA256, c.curKey[:], c.salt[:], infoRotation)
	if err != nil {
		return err
	}
	s, err := c.suite(next)
	if err != nil {
		return err
	}
	c.prev, c.prevKey = c.cur, c.curKey
	c.cur, c.curKey = s, next
	c.age = 0
	c.phase = !c.phase
	clear(next[:])
	return nil
}

// Seal appends IV, ciphertext and tag of plain to dst; plain and the
// appended part must not overlap.
func (c *Ctx) Seal(dst, plain []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(dst)
	dst = grow(dst, c.ivsz+len(plain)+c.tagsz)
	iv := dst[n : n+c.ivsz]
	rand.Read(iv)
	if c.cntr&c.mask != 0 {
		iv[0] |= 0x80
	} else {
		iv[0] &= 0x7f
	}
	if c.cur.aead != nil {
		dst = c.cur.aead.Seal(dst[:n+c.ivsz], iv, plain, nil)
	} else {
		cipher.NewCTR(c.cur.block, iv).XORKeyStream(dst[n+c.ivsz:], plain)
	}
	c.cntr++
	c.age++
	c.stats.Sealed++
	if c.cntr&c.mask != (c.cntr-1)&c.mask {
		if err := c.rotate(); err != nil {
			return dst[:n], err
		}
	}
	if c.prev != nil && c.age >= c.mask>>1 { // the previous key's grace is over
		c.prev = nil
		clear(c.prevKey[:])
	}
	return dst, nil
}

func grow(b []byte, n int) []byte {
	if cap(b)-len(b) < n {
		nb := make([]byte, len(b), len(b)+n)
		copy(nb, b)
		b = nb
	}
	return b[:len(b)+n]
}

// Open decrypts a sealed packet in place and returns the plaintext, a
// part of in. A packet that does not authenticate, or whose IV came among
// the last ones (a replay), is an error and is counted.
func (c *Ctx) Open(in []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(in) < c.ivsz+c.tagsz {
		c.stats.Short++
		return nil, fmt.Errorf("%w: a packet of %d bytes is shorter than IV and tag", ErrCrypt, len(in))
	}
	iv, body := in[:c.ivsz], in[c.ivsz:]
	if c.replay.seen(iv) {
		c.stats.Replayed++
		return nil, fmt.Errorf("%w: a replayed packet", ErrCrypt)
	}
	if rx := iv[0]&0x80 != 0; rx != c.phase && c.age >= c.mask-c.mask>>2 {
		if err := c.rotate(); err != nil {
			return nil, err
		}
	}
	c.cntr++
	c.age++
	if c.cur.block != nil { // CTR: nothing to authenticate
		cipher.NewCTR(c.cur.block, iv).XORKeyStream(body, body)
		c.replay.add(iv)
		c.stats.Opened++
		return body, nil
	}
	var out []byte
	var err error
	if c.prev == nil {
		out, err = c.cur.aead.Open(body[:0], iv, body, nil)
	} else {
		// Two keys to try, and a failed Open clears its output: the first
		// try goes to a buffer of its own. (The IV's phase bit does not
		// tell the key: it is the shared packet counter's bit, which the
		// other end may have crossed without rotating.)
		c.tmp, err = c.cur.aead.Open(c.tmp[:0], iv, body, nil)
		if err == nil {
			out = body[:copy(body, c.tmp)]
		} else {
			out, err = c.prev.aead.Open(body[:0], iv, body, nil)
		}
	}
	if err != nil {
		c.stats.BadAuth++
		return nil, fmt.Errorf("%w: a packet failed authentication", ErrCrypt)
	}
	c.replay.add(iv)
	c.stats.Opened++
	return out, nil
}

// ivFilter remembers the last replayWindow IVs (as 64-bit fingerprints:
// IVs are random, and a false match drops one packet in 2^52 or so).
const replayWindow = 4096

type ivFilter struct {
	ring [replayWindow]uint64
	n    int
	set  map[uint64]uint16
}

func fingerprint(iv []byte) uint64 {
	var b [8]byte
	copy(b[:], iv[len(iv)-8:])
	return binary.LittleEndian.Uint64(b[:]) | 1 // never 0: 0 marks an empty slot
}

func (f *ivFilter) seen(iv []byte) bool {
	_, ok := f.set[fingerprint(iv)]
	return ok
}

func (f *ivFilter) add(iv []byte) {
	if f.set == nil {
		f.set = make(map[uint64]uint16, replayWindow)
	}
	fp := fingerprint(iv)
	slot := f.n % replayWindow
	if old := f.ring[slot]; old != 0 {
		if f.set[old] <= 1 {
			delete(f.set, old)
		} else {
			f.set[old]--
		}
	}
	f.ring[slot] = fp
	f.set[fp]++
	f.n++
}
