package ipcp

import (
	"crypto/md5"
	"crypto/sha3"
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// HashAlgo is a directory hash algorithm (spec SYSTEM §2.7). Names are never
// sent to a layer in clear text, only their hash.
type HashAlgo uint8

const (
	SHA3_224 HashAlgo = iota
	SHA3_256
	SHA3_384
	SHA3_512
	CRC32
	MD5
)

// DefaultHash is the reference's default directory hash.
const DefaultHash = SHA3_256

var hashNames = [...]string{"SHA3_224", "SHA3_256", "SHA3_384", "SHA3_512", "CRC32", "MD5"}

func (h HashAlgo) String() string {
	if int(h) < len(hashNames) {
		return hashNames[h]
	}
	return fmt.Sprintf("hash(%d)", uint8(h))
}

// ParseHashAlgo parses the names irm and the configuration file accept
// (SHA3_224, SHA3_256, SHA3_384, SHA3_512).
func ParseHashAlgo(s string) (HashAlgo, error) {
	for i, n := range hashNames[:4] {
		if n == s {
			return HashAlgo(i), nil
		}
	}
	return 0, fmt.Errorf("unknown hash algorithm %q (one of SHA3_224, SHA3_256, SHA3_384, SHA3_512)", s)
}

// Len is the length of a hash in bytes.
func (h HashAlgo) Len() int {
	switch h {
	case SHA3_224:
		return 28
	case SHA3_256:
		return 32
	case SHA3_384:
		return 48
	case SHA3_512:
		return 64
	case CRC32:
		return 4
	case MD5:
		return 16
	}
	return 0
}

// Sum hashes a name: the raw bytes of the name, no terminating NUL.
func (h HashAlgo) Sum(name string) []byte {
	b := []byte(name)
	switch h {
	case SHA3_224:
		s := sha3.Sum224(b)
		return s[:]
	case SHA3_256:
		s := sha3.Sum256(b)
		return s[:]
	case SHA3_384:
		s := sha3.Sum384(b)
		return s[:]
	case SHA3_512:
		s := sha3.Sum512(b)
		return s[:]
	case CRC32:
		return binary.BigEndian.AppendUint32(nil, crc32.ChecksumIEEE(b))
	case MD5:
		s := md5.Sum(b)
		return s[:]
	}
	return nil
}
