package docker

import (
	"strings"
	"testing"
)

func TestTag(t *testing.T) {
	for in, want := range map[string]string{
		"0.1.0-270cbbf":          "0.1.0-270cbbf",
		"0.1.0-270cbbf-dirty":    "0.1.0-270cbbf-dirty",
		"1.2+meta/x y":           "1.2-meta-x-y",
		"":                       "v",
		"-rc1":                   "v-rc1",
		strings.Repeat("a", 200): strings.Repeat("a", 128),
	} {
		if got := Tag(in); got != want {
			t.Errorf("Tag(%q) = %q, want %q", in, got, want)
		}
	}
	if n := NodeName("lab1", "a"); n != "o7s-lab1-a" {
		t.Errorf("NodeName = %q", n)
	}
	if n := HolderName("lab1", "a"); n != "o7s-lab1-a-ns" {
		t.Errorf("HolderName = %q", n)
	}
	if !strings.HasPrefix(DefaultImage(), Repo+":") {
		t.Errorf("DefaultImage = %q", DefaultImage())
	}
}
