package dir

import (
	"testing"
	"time"
)

// TestLookupStartsOver: a lookup whose answers never come is asked again
// from the start once maxLookup has passed, even while Query keeps
// polling it (which pushes its expiry).
func TestLookupStartsOver(t *testing.T) {
	f := newFixture(t, nil)
	for i := range 2 {
		id := make([]byte, testIDLen)
		id[0] = byte(0x10 + i)
		f.d.mu.Lock()
		f.d.updateContact(id, uint64(100+i), f.clock.now)
		f.d.mu.Unlock()
	}
	key := make([]byte, testIDLen)
	key[0] = 0x42
	if _, err := f.d.Query(key); err != ErrPending {
		t.Fatalf("Query = %v, want ErrPending", err)
	}
	first := len(f.sink.msgs)
	if first != 2 {
		t.Fatalf("first round sent %d requests, want 2", first)
	}
	for range 10 { // polled every 250 ms: nothing new to ask
		f.clock.now = f.clock.now.Add(250 * time.Millisecond)
		f.d.Query(key)
	}
	if len(f.sink.msgs) != first {
		t.Fatalf("polling re-asked: %d requests", len(f.sink.msgs))
	}
	f.clock.now = f.clock.now.Add(maxLookup)
	f.d.Query(key)
	if len(f.sink.msgs) != first+2 {
		t.Fatalf("after %v: %d requests, want the two contacts asked again", maxLookup, len(f.sink.msgs)-first)
	}
}
