package swarm

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckName(t *testing.T) {
	for _, ok := range []string{"o7s", "t1", "abcdefgh"} {
		if err := CheckName(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "1a", "a-b", "A", "abcdefghi", "a/b"} {
		if err := CheckName(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestEngineByName: an engine is found as e2 or 2; another name is an
// error listing those there are.
func TestEngineByName(t *testing.T) {
	s := &Swarm{Name: "x", Engines: []*Engine{{Name: "e1", Sock: "/run/x/e1.sock"}, {Name: "e2", Sock: "/run/x/e2.sock"}}}
	for _, n := range []string{"e2", "2"} {
		if e, err := s.Engine(n); err != nil || e.Name != "e2" {
			t.Errorf("Engine(%q) = %v, %v", n, e, err)
		}
	}
	if _, err := s.Engine("e3"); err == nil || !strings.Contains(err.Error(), "[e1 e2]") {
		t.Errorf("Engine(e3): %v", err)
	}
	hs := s.Hosts()
	if len(hs) != 2 || hs[1].Name != "e2" || hs[1].Engine != "unix:///run/x/e2.sock" {
		t.Errorf("Hosts() = %+v", hs)
	}
}

func TestLoadMissing(t *testing.T) {
	_, err := Load("nosuchswarm")
	if !errors.Is(err, ErrNoSwarm) || !strings.Contains(err.Error(), "otb swarm up 3 --name nosuchswarm") {
		t.Errorf("Load: %v", err)
	}
}
