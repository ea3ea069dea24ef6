//go:build !linux

package seqpkt

import (
	"errors"
	"os"
	"time"
)

// Conn is one end of a flow; only Linux has an implementation.
type Conn struct{}

func Pair() (*Conn, *Conn, error)              { return nil, nil, errors.ErrUnsupported }
func FilePair() (*os.File, *os.File, error)    { return nil, nil, errors.ErrUnsupported }
func NodePair() (*Conn, *os.File, error)       { return nil, nil, errors.ErrUnsupported }
func FromFile(*os.File) (*Conn, error)         { return nil, errors.ErrUnsupported }
func (*Conn) Read([]byte) (int, error)         { return 0, errors.ErrUnsupported }
func (*Conn) TryRead([]byte) (int, error)      { return 0, errors.ErrUnsupported }
func (*Conn) Wait() error                      { return errors.ErrUnsupported }
func (*Conn) TryWrite([]byte) error            { return errors.ErrUnsupported }
func (*Conn) Write([]byte) error               { return errors.ErrUnsupported }
func (*Conn) SetReadDeadline(time.Time) error  { return errors.ErrUnsupported }
func (*Conn) SetWriteDeadline(time.Time) error { return errors.ErrUnsupported }
func (*Conn) File() *os.File                   { return nil }
func (*Conn) Unsent() int                      { return 0 }
func (*Conn) Queued() bool                     { return false }
func (*Conn) Close() error                     { return nil }
func (*Conn) SetBuffer(int) error              { return errors.ErrUnsupported }
