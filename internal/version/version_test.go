package version

import "testing"

func TestLine(t *testing.T) {
	old := Version
	defer func() { Version = old }()
	Version = "1.2.3-4-gabc"
	if got := Line("oping"); got != "oping (Ouroboros in Go) 1.2.3-4-gabc\n" {
		t.Errorf("Line = %q", got)
	}
}
