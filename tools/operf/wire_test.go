package operf

import (
	"bytes"
	"testing"
)

func TestConfigGolden(t *testing.T) {
	for _, tc := range []struct {
		t    Test
		want []byte
	}{
		{Uni, []byte{0, 0, 0, 0}},
		{Bi, []byte{1, 0, 0, 0}}, // host order: little-endian
	} {
		b := AppendConfig(nil, tc.t)
		if !bytes.Equal(b, tc.want) {
			t.Errorf("AppendConfig(%v) = % x, want % x", tc.t, b, tc.want)
		}
		if got, err := ParseConfig(b); err != nil || got != tc.t {
			t.Errorf("ParseConfig(% x) = %v, %v", b, got, err)
		}
	}
	for _, bad := range [][]byte{nil, {0}, {1, 0, 0}, {0, 0, 0, 0, 0}, {2, 0, 0, 0}, {0, 0, 0, 1}} {
		if got, err := ParseConfig(bad); err == nil {
			t.Errorf("ParseConfig(% x) = %v, want an error", bad, got)
		}
	}
}

func TestIDGolden(t *testing.T) {
	b := make([]byte, 64)
	PutID(b, 0x01020304)
	if want := []byte{4, 3, 2, 1}; !bytes.Equal(b[:4], want) {
		t.Fatalf("PutID = % x, want % x", b[:4], want)
	}
	if ID(b) != 0x01020304 || ID(b[:3]) != 0 {
		t.Fatalf("ID = %#x, short ID = %#x", ID(b), ID(b[:3]))
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte{1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		if tt, err := ParseConfig(b); err == nil && (len(b) != ConfigLen || tt > Bi) {
			t.Fatalf("accepted % x as %v", b, tt)
		}
	})
}
