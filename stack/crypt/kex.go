package crypt

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/hkdf"
	"crypto/mlkem"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
)

// KDF infos (spec APP §5.8).
const (
	infoDHE      = "o7s-ossl-dhe"
	infoEncap    = "o7s-ossl-encap"
	infoRotation = "o7s-key-rotation"
)

var (
	oidMLKEM768  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 4, 2}
	oidMLKEM1024 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 4, 3}
)

type spki struct {
	Algorithm pkix.AlgorithmIdentifier
	Key       asn1.BitString
}

func curveOf(nid uint16) ecdh.Curve {
	switch nid {
	case Prime256v1:
		return ecdh.P256()
	case Secp384r1:
		return ecdh.P384()
	case Secp521r1:
		return ecdh.P521()
	case X25519:
		return ecdh.X25519()
	}
	return nil
}

// Ephemeral is a key exchange's ephemeral key: the client's, kept until
// the server's answer comes.
type Ephemeral struct {
	nid    uint16
	priv   *ecdh.PrivateKey
	dk768  *mlkem.DecapsulationKey768
	dk1024 *mlkem.DecapsulationKey1024
	// Public is the public key as OAP carries it: DER SubjectPublicKeyInfo.
	Public []byte
}

// NewEphemeral makes an ephemeral key for the key exchange nid.
func NewEphemeral(nid uint16) (*Ephemeral, error) {
	e := &Ephemeral{nid: nid}
	var err error
	switch {
	case curveOf(nid) != nil:
		if e.priv, err = curveOf(nid).GenerateKey(nil); err == nil {
			e.Public, err = x509.MarshalPKIXPublicKey(e.priv.PublicKey())
		}
	case nid == MLKEM768:
		if e.dk768, err = mlkem.GenerateKey768(); err == nil {
			e.Public, err = marshalKEM(oidMLKEM768, e.dk768.EncapsulationKey().Bytes())
		}
	case nid == MLKEM1024:
		if e.dk1024, err = mlkem.GenerateKey1024(); err == nil {
			e.Public, err = marshalKEM(oidMLKEM1024, e.dk1024.EncapsulationKey().Bytes())
		}
	default:
		return nil, fmt.Errorf("%w: key exchange %s is %v", ErrCrypt, KexName(nid), errUnsupported)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s key: %w", ErrCrypt, KexName(nid), err)
	}
	return e, nil
}

func marshalKEM(oid asn1.ObjectIdentifier, key []byte) ([]byte, error) {
	return asn1.Marshal(spki{Algorithm: pkix.AlgorithmIdentifier{Algorithm: oid}, Key: asn1.BitString{Bytes: key, BitLength: 8 * len(key)}})
}

// peerKey is a public key received in OAP.
type peerKey struct {
	nid uint16
	pub *ecdh.PublicKey
	kem []byte // an ML-KEM encapsulation key
}

// parsePublic reads a DER SubjectPublicKeyInfo and tells its algorithm.
func parsePublic(der []byte) (peerKey, error) {
	if k, err := x509.ParsePKIXPublicKey(der); err == nil {
		switch k := k.(type) {
		case *ecdh.PublicKey:
			if k.Curve() == ecdh.X25519() {
				return peerKey{nid: X25519, pub: k}, nil
			}
		case *ecdsa.PublicKey:
			pub, err := k.ECDH()
			if err != nil {
				break
			}
			for _, nid := range []uint16{Prime256v1, Secp384r1, Secp521r1} {
				if curveOf(nid) == pub.Curve() {
					return peerKey{nid: nid, pub: pub}, nil
				}
			}
		}
		return peerKey{}, fmt.Errorf("%w: a public key of type %T is not a key exchange this build has", ErrCrypt, k)
	}
	var s spki
	if rest, err := asn1.Unmarshal(der, &s); err != nil || len(rest) > 0 {
		return peerKey{}, fmt.Errorf("%w: the key exchange data is not a public key this build knows (FFDHE, X448 and the hybrid KEMs are not supported)", ErrCrypt)
	}
	switch {
	case s.Algorithm.Algorithm.Equal(oidMLKEM768) && len(s.Key.Bytes) == mlkem.EncapsulationKeySize768:
		return peerKey{nid: MLKEM768, kem: s.Key.Bytes}, nil
	case s.Algorithm.Algorithm.Equal(oidMLKEM1024) && len(s.Key.Bytes) == mlkem.EncapsulationKeySize1024:
		return peerKey{nid: MLKEM1024, kem: s.Key.Bytes}, nil
	}
	return peerKey{}, fmt.Errorf("%w: public key algorithm %v is not a key exchange this build has", ErrCrypt, s.Algorithm.Algorithm)
}

// KexOf tells the key exchange of a public key OAP carries.
func KexOf(der []byte) (uint16, error) {
	k, err := parsePublic(der)
	return k.nid, err
}

// derive is HKDF with the digest kdf (SHA-256 for 0).
func derive(kdf uint16, secret, salt []byte, info string) ([KeyLen]byte, error) {
	var key [KeyLen]byte
	h, err := Digest(kdf)
	if err != nil {
		return key, err
	}
	out, err := hkdf.Key(h, secret, salt, info, KeyLen)
	if err != nil {
		return key, fmt.Errorf("%w: %w", ErrCrypt, err)
	}
	copy(key[:], out)
	return key, nil
}

// dheSalt is SHA-256 of the two public keys, the lesser first.
func dheSalt(a, b []byte) []byte {
	if bytes.Compare(a, b) > 0 {
		a, b = b, a
	}
	h := sha256.New()
	h.Write(a)
	h.Write(b)
	return h.Sum(nil)
}

// Answer is the server's side of the key exchange: from the client's
// public key it makes its own (ECDHE) or a ciphertext (KEM), and the key.
// min is the weakest key exchange the server takes (0: any).
func Answer(client []byte, min, kdf uint16) (reply []byte, key [KeyLen]byte, nid uint16, err error) {
	k, err := parsePublic(client)
	if err != nil {
		return nil, key, 0, err
	}
	if KexRank(k.nid) < KexRank(min) {
		return nil, key, k.nid, fmt.Errorf("%w: the client's key exchange %s is weaker than %s, which this server asks for", ErrCrypt, KexName(k.nid), KexName(min))
	}
	if k.pub != nil {
		e, err := NewEphemeral(k.nid)
		if err != nil {
			return nil, key, k.nid, err
		}
		secret, err := e.priv.ECDH(k.pub)
		if err != nil {
			return nil, key, k.nid, fmt.Errorf("%w: %w", ErrCrypt, err)
		}
		key, err = derive(kdf, secret, dheSalt(client, e.Public), infoDHE)
		return e.Public, key, k.nid, err
	}
	var ss, ct []byte
	switch k.nid {
	case MLKEM768:
		ek, err := mlkem.NewEncapsulationKey768(k.kem)
		if err != nil {
			return nil, key, k.nid, fmt.Errorf("%w: %w", ErrCrypt, err)
		}
		ss, ct = ek.Encapsulate()
	case MLKEM1024:
		ek, err := mlkem.NewEncapsulationKey1024(k.kem)
		if err != nil {
			return nil, key, k.nid, fmt.Errorf("%w: %w", ErrCrypt, err)
		}
		ss, ct = ek.Encapsulate()
	}
	salt := sha256.Sum256(client)
	key, err = derive(kdf, ss, salt[:], infoEncap)
	return ct, key, k.nid, err
}

// Finish is the client's side once the server answered: the server's
// public key (ECDHE) or ciphertext (KEM) gives the key.
func (e *Ephemeral) Finish(reply []byte, kdf uint16) ([KeyLen]byte, error) {
	var key [KeyLen]byte
	switch {
	case e.priv != nil:
		k, err := parsePublic(reply)
		if err != nil {
			return key, err
		}
		if k.nid != e.nid {
			return key, fmt.Errorf("%w: the server answered %s to %s", ErrCrypt, KexName(k.nid), KexName(e.nid))
		}
		secret, err := e.priv.ECDH(k.pub)
		if err != nil {
			return key, fmt.Errorf("%w: %w", ErrCrypt, err)
		}
		return derive(kdf, secret, dheSalt(e.Public, reply), infoDHE)
	case e.dk768 != nil || e.dk1024 != nil:
		var ss []byte
		var err error
		if e.dk768 != nil {
			ss, err = e.dk768.Decapsulate(reply)
		} else {
			ss, err = e.dk1024.Decapsulate(reply)
		}
		if err != nil {
			return key, fmt.Errorf("%w: %w", ErrCrypt, err)
		}
		salt := sha256.Sum256(e.Public)
		return derive(kdf, ss, salt[:], infoEncap)
	}
	return key, fmt.Errorf("%w: no key exchange under way", ErrCrypt)
}
