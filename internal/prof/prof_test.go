package prof

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

func TestStart(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(Env, filepath.Join(dir, "cpu-%p.prof"))
	stop := Start("test")
	x := 0
	for i := range 1_000_000 {
		x += i
	}
	stop()
	fi, err := os.Stat(filepath.Join(dir, "cpu-"+strconv.Itoa(os.Getpid())+".prof"))
	if err != nil || fi.Size() == 0 {
		t.Fatalf("no profile written: %v", err)
	}
	t.Setenv(Env, "")
	Start("test")() // nothing asked, nothing done
	t.Setenv(Env, filepath.Join(dir, "no", "such", "dir", "x"))
	Start("test")() // said on stderr, no panic
}
