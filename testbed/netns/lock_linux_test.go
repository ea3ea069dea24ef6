package netns

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestLockLab: a lab's lock is held by one deploy or destroy at a time,
// names its holder, and leaves nothing behind.
func TestLockLab(t *testing.T) {
	root := t.TempDir()
	unlock, err := lockLab(root, "lk1")
	if err != nil {
		t.Fatal(err)
	}
	_, err = lockLab(root, "lk1")
	if !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), "process "+strconv.Itoa(os.Getpid())) {
		t.Errorf("second lock = %v, want ErrBusy naming this process", err)
	}
	if u2, err := lockLab(root, "lk2"); err != nil {
		t.Errorf("another lab's lock = %v", err)
	} else {
		u2()
	}
	unlock()
	if _, err := os.Stat(filepath.Join(root, "lk1.lock")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the lock file is still there after unlock: %v", err)
	}
	unlock, err = lockLab(root, "lk1")
	if err != nil {
		t.Fatalf("lock after unlock = %v", err)
	}
	unlock()
}

// TestDestroyUnknown: destroying a lab of which nothing exists says so,
// and a lab that is being deployed is not destroyed.
func TestDestroyUnknown(t *testing.T) {
	root := t.TempDir()
	err := Destroy("nosuchlab7q", Options{Root: root})
	if !errors.Is(err, ErrNoLab) || !strings.Contains(err.Error(), "nosuchlab7q") {
		t.Errorf("Destroy of an unknown lab = %v, want ErrNoLab naming it", err)
	}
	if err := os.MkdirAll(filepath.Join(root, "busy7q"), 0o755); err != nil {
		t.Fatal(err)
	}
	unlock, err := lockLab(root, "busy7q")
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	if err := Destroy("busy7q", Options{Root: root}); !errors.Is(err, ErrBusy) {
		t.Errorf("Destroy of a lab being deployed = %v, want ErrBusy", err)
	}
	if _, err := os.Stat(filepath.Join(root, "busy7q")); err != nil {
		t.Errorf("the lab being deployed lost its directory: %v", err)
	}
}
