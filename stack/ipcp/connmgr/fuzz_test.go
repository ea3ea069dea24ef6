package connmgr

import (
	"errors"
	"testing"
	"time"

	"github.com/o7s/ouroboros/stack/seqpkt"
)

func seedCEP(f *testing.F) {
	for _, g := range goldenCEPs() {
		f.Add(g.wire)
	}
	f.Add([]byte{})
	f.Add(cat(goldenDT, []byte{0x20, 0x01, 0x30, 0x02, 0x3a, 0x02, 0x08, 0x01}))
}

// FuzzParse: Parse never panics, and whatever it accepts marshals back to
// bytes that parse to the same Info.
func FuzzParse(f *testing.F) {
	seedCEP(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		i, err := Parse(b)
		if err != nil {
			if !errors.Is(err, ErrMsg) {
				t.Fatalf("Parse error %v is not ErrMsg", err)
			}
			return
		}
		again, err := Parse(i.Marshal())
		if err != nil {
			t.Fatalf("Parse(Marshal(%+v)): %v", i, err)
		}
		if again != i {
			t.Fatalf("round trip %+v -> %+v", i, again)
		}
	})
}

// FuzzRespond feeds arbitrary first packets to the passive side over a real
// flow channel: it must answer or refuse and return, never panic or hang.
func FuzzRespond(f *testing.F) {
	seedCEP(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		a, c, err := seqpkt.Pair()
		if err != nil {
			t.Skip(err)
		}
		defer a.Close()
		defer c.Close()
		if err := a.Write(b); err != nil {
			t.Fatal(err)
		}
		a.Close() // the wait ends at once instead of after Timeout
		ch := make(chan respondResult, 1)
		go func() {
			l, p, err := Respond(c, lookupOf(withAddr(DT, 1), Enrollment, withAddr(Management, 1)))
			ch <- respondResult{l, p, err}
		}()
		select {
		case r := <-ch:
			if r.err == nil && r.local.Comp != r.peer.Comp {
				t.Fatalf("answered %q for %q", r.local.Comp, r.peer.Comp)
			}
		case <-time.After(Timeout + time.Second):
			t.Fatal("Respond did not return")
		}
	})
}
