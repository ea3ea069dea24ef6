package prof

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
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

func TestHeap(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(HeapEnv, filepath.Join(dir, "heap-%p.prof"))
	Heap("test")
	path := filepath.Join(dir, "heap-"+strconv.Itoa(os.Getpid())+".prof")
	fi, err := os.Stat(path)
	if err != nil || fi.Size() == 0 {
		t.Fatalf("no profile written: %v", err)
	}
	classes, err := os.ReadFile(path + ".txt")
	if err != nil || !strings.Contains(string(classes), "/memory/classes/heap/objects:bytes") {
		t.Fatalf("no memory classes beside the profile: %v\n%s", err, classes)
	}
	if g, err := os.ReadFile(path + ".goroutines"); err != nil || !strings.Contains(string(g), "goroutine profile:") {
		t.Fatalf("no goroutines beside the profile: %v", err)
	}
	t.Setenv(HeapEnv, "")
	Heap("test") // nothing asked, nothing done
	t.Setenv(HeapEnv, filepath.Join(dir, "no", "such", "dir", "x"))
	Heap("test") // said on stderr, no panic
}
