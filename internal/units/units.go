// Package units reads amounts written the way Docker writes them.
package units

import (
	"errors"
	"math"
	"strconv"
	"strings"
)

// ParseBytes reads an amount of memory as Docker writes it: a whole
// number with an optional unit b, k, m or g (powers of 1024; kb, mb, gb,
// kib, mib and gib too, any case).
func ParseBytes(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"kb", 1 << 10}, {"mb", 1 << 20}, {"gb", 1 << 30}, {"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}, {"b", 1}} {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSuffix(t, u.suffix), u.m
			break
		}
	}
	v, err := strconv.ParseInt(t, 10, 64)
	if err != nil || v <= 0 {
		return 0, errBytes
	}
	if v > math.MaxInt64/mult {
		return 0, errBytes
	}
	return v * mult, nil
}

var errBytes = errors.New("not an amount of memory (a whole number and b, k, m or g)")
