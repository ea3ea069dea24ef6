package udp

import "testing"

func TestEIDSet(t *testing.T) {
	var s eidSet
	for _, e := range []uint32{1, 63, 64, MaxFlows - 1} {
		if s.has(e) {
			t.Fatalf("%d in an empty set", e)
		}
		s.add(e)
		if !s.has(e) {
			t.Fatalf("%d not in the set after add", e)
		}
	}
	s.remove(63)
	if s.has(63) || !s.has(64) || !s.has(1) {
		t.Fatal("remove took the wrong eid")
	}
}
