// Package crypt is per-flow encryption and the key exchange behind it
// (spec APP §5): the algorithm identifiers and their strength ranks, the
// per-name enc.conf files, the ephemeral key exchange that OAP carries in
// the one round trip of a flow allocation, the key derivation, and the
// data path's AEAD (or CTR) seal and open with key rotation.
//
// Supported here: key exchange with prime256v1 (the default), X25519,
// secp384r1 and secp521r1 (ECDHE), and ML-KEM-768 and ML-KEM-1024 with the
// server encapsulating; ciphers AES-128/192/256-GCM, ChaCha20-Poly1305 and
// AES-128/192/256-CTR; every digest of the reference for the KDF. Absent,
// and refused with ErrCrypt when asked for: the FFDHE groups, X448,
// ML-KEM-512 (Go's crypto/mlkem has no 512), the hybrid KEMs, and the
// client-encapsulation KEM mode.
//
// Beyond the reference (nothing of it changes a byte on the wire): a
// receiver drops a packet whose IV it has seen among the last 4096
// (a replayed packet), and counts what it drops.
package crypt
