package ipcp

import (
	"encoding/hex"
	"testing"
)

// Known-answer vectors for the name "oping" (computed independently with
// Python's hashlib).
func TestHashVectors(t *testing.T) {
	for _, tc := range []struct {
		algo HashAlgo
		want string
	}{
		{SHA3_256, "42dee3b0415b4f690fd91cbd99876f1e9bd8d9745ef7fa32b142773af0349d54"},
		{MD5, "7862c6fec5ecaef4aa2e3934725e23b3"},
	} {
		got := hex.EncodeToString(tc.algo.Sum("oping"))
		if got != tc.want {
			t.Errorf("%v(oping) = %s, want %s", tc.algo, got, tc.want)
		}
	}
	for a := SHA3_224; a <= MD5; a++ {
		if n := len(a.Sum("x")); n != a.Len() {
			t.Errorf("%v: len %d, want %d", a, n, a.Len())
		}
	}
}

func TestParse(t *testing.T) {
	for i, n := range typeNames {
		typ, err := ParseType(n)
		if err != nil || typ != Type(i) || typ.String() != n {
			t.Errorf("ParseType(%q) = %v, %v", n, typ, err)
		}
	}
	if _, err := ParseType("loc"); err == nil {
		t.Error("ParseType(loc) accepted a prefix")
	}
	if h, err := ParseHashAlgo("SHA3_512"); err != nil || h != SHA3_512 {
		t.Errorf("ParseHashAlgo(SHA3_512) = %v, %v", h, err)
	}
	if _, err := ParseHashAlgo("MD5"); err == nil {
		t.Error("ParseHashAlgo(MD5) accepted an internal algorithm")
	}
}
