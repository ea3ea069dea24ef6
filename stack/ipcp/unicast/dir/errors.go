package dir

import "errors"

var (
	// ErrNotFound reports that no address is known for a key and no
	// lookup could be started (no contacts).
	ErrNotFound = errors.New("dht: name not found")
	// ErrPending reports that a lookup for the key is under way.
	ErrPending = errors.New("dht: lookup pending")
	// ErrInvalidMsg reports a DHT message that failed validation.
	ErrInvalidMsg = errors.New("dht: invalid message")
	// ErrKeyLen reports a key whose length is not the configured id length.
	ErrKeyLen = errors.New("dht: wrong key length")
	// ErrTooManyReqs reports that DHT_MAX_REQS lookups are outstanding.
	ErrTooManyReqs = errors.New("dht: too many outstanding lookups")
)
