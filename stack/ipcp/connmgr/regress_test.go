package connmgr

import (
	"bytes"
	"fmt"
	"testing"
)

// call runs f and turns a panic into an error.
func call(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return f()
}

// TestBugOversizedCepMsgPanics: seqpkt.Conn.Read returns a packet's full
// length even when it did not fit the buffer (MSG_TRUNC), and recv slices
// its [MaxMsg]byte array with that length, so any peer that allocates a
// flow to the IPCP and sends more than 128 bytes makes Respond (and
// Initiate, for the reply) panic: "slice bounds out of range [:129] with
// length 128". The reference reads the first 128 bytes (partial read), fails
// to unpack them and releases the flow. Expected: an error, no panic.
func TestFixedOversizedCepMsgPanics(t *testing.T) {
	big := Info{Comp: string(bytes.Repeat([]byte{'c'}, 116)), Protocol: "dtp", Version: 1, Syntax: 2}
	if n := len(big.Marshal()); n != MaxMsg+1 {
		t.Fatalf("test message is %d bytes", n)
	}

	a, b := pair(t)
	a.Write(big.Marshal())
	err := call(func() error { _, _, err := Respond(b, lookupOf(DT)); return err })
	if err == nil {
		t.Error("Respond accepted an oversized cep_msg")
	} else if bytes.HasPrefix([]byte(err.Error()), []byte("panic")) {
		t.Errorf("Respond: %v", err)
	}

	a2, b2 := pair(t)
	go func() {
		b2.Read(make([]byte, MaxMsg))
		b2.Write(big.Marshal())
	}()
	err = call(func() error { _, err := Initiate(a2, DT); return err })
	if err == nil {
		t.Error("Initiate accepted an oversized reply")
	} else if bytes.HasPrefix([]byte(err.Error()), []byte("panic")) {
		t.Errorf("Initiate: %v", err)
	}
}
