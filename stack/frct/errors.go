package frct

import "errors"

var (
	// ErrShort is a PDU shorter than the header.
	ErrShort = errors.New("frct: PDU too short")
	// ErrWindowClosed is a send the peer's window does not allow yet.
	ErrWindowClosed = errors.New("frct: the peer's window is closed")
	// ErrFailed is a flow whose retransmissions went unanswered for R.
	ErrFailed = errors.New("frct: no acknowledgement within the retransmission limit")
)
