package netns

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestCapture: frames sent on one end of a veth of the test's own are in
// the pcap file that Capture writes on the other end; unknown nodes and
// interfaces are errors naming what exists. Needs root and
// OUROBOROS_PRIVILEGED_TESTS=1.
func TestCapture(t *testing.T) {
	if os.Geteuid() != 0 || os.Getenv("OUROBOROS_PRIVILEGED_TESTS") != "1" {
		t.Skip("needs root and OUROBOROS_PRIVILEGED_TESTS=1")
	}
	lab := fmt.Sprintf("cap%d", os.Getpid())
	nsA, nsB := NSName(lab, "a"), NSName(lab, "b")
	for _, ns := range []string{nsA, nsB} {
		if err := createNS(ns, lab); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { deleteNS(ns) })
	}
	if err := addVeth(lab, vethEnd{NS: nsA, Iface: "capa", NoIPv6: true}, vethEnd{NS: nsB, Iface: "capb", NoIPv6: true}); err != nil {
		t.Fatal(err)
	}

	// What exists is named when something does not.
	root := t.TempDir()
	l := &Lab{Name: lab, Dir: filepath.Join(root, lab), Nodes: map[string]*NodeState{
		"a": {Name: "a", NS: nsA}, "b": {Name: "b", NS: nsB},
	}}
	if err := l.save(); err != nil {
		t.Fatal(err)
	}
	if _, err := CaptureTarget(root, lab, "zz", "capa"); err == nil || !strings.Contains(err.Error(), "nodes: a, b") {
		t.Errorf("unknown node: %v", err)
	}
	if _, err := CaptureTarget(root, lab, "b", "eth9"); err == nil || !strings.Contains(err.Error(), "capb") || !strings.Contains(err.Error(), "lo") {
		t.Errorf("unknown interface: %v", err)
	}
	if ns, err := CaptureTarget(root, lab, "b", "capb"); err != nil || ns != nsB {
		t.Fatalf("CaptureTarget = %q, %v", ns, err)
	}

	// Frames: eth-dix, ethertype 0xA000, eid i, length 4, a marker.
	var frames [][]byte
	for i := range 3 {
		f := []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 1, 0xa0, 0x00}
		f = binary.BigEndian.AppendUint16(f, uint16(i+1))
		f = binary.BigEndian.AppendUint16(f, 4)
		f = append(f, 'o', '7', 's', byte(i))
		f = append(f, make([]byte, 60-len(f))...) // padded as the minimum frame
		frames = append(frames, f)
	}
	var buf bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	go func() {
		n, err := Capture(ctx, nsB, "capb", &buf, CaptureOptions{Duration: 10 * time.Second})
		done <- result{n, err}
	}()
	time.Sleep(300 * time.Millisecond) // the socket is bound
	err := inNS(nsA, func() error {
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		idx, _, err := linkIndex(nsA, "capa")
		if err != nil {
			return err
		}
		for _, f := range frames {
			if err := unix.Sendto(fd, f, 0, &unix.SockaddrLinklayer{Ifindex: idx, Protocol: hton16(0xa000), Halen: 6, Addr: [8]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	cancel()
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	b := buf.Bytes()
	if len(b) < 24 || binary.LittleEndian.Uint32(b) != pcapMagic || binary.LittleEndian.Uint32(b[20:]) != LinkTypeEthernet {
		t.Fatalf("no pcap global header: %x", b[:min(len(b), 24)])
	}
	var got [][]byte
	for off := 24; off < len(b); {
		if off+16 > len(b) {
			t.Fatalf("record header cut at %d", off)
		}
		incl := int(binary.LittleEndian.Uint32(b[off+8:]))
		orig := int(binary.LittleEndian.Uint32(b[off+12:]))
		if incl != orig || off+16+incl > len(b) {
			t.Fatalf("record at %d: incl %d orig %d, file %d", off, incl, orig, len(b))
		}
		got = append(got, b[off+16:off+16+incl])
		off += 16 + incl
	}
	if len(got) != r.n {
		t.Errorf("Capture said %d frames, the file has %d", r.n, len(got))
	}
	found := 0
	for _, f := range frames {
		for _, g := range got {
			if bytes.Equal(f, g) {
				found++
				break
			}
		}
	}
	if found != len(frames) {
		t.Errorf("%d of %d frames sent are in the capture (%d frames)", found, len(frames), len(got))
	}

	// If tshark is here, it reads the file, and the dissector knows the frames.
	if tshark, err := exec.LookPath("tshark"); err == nil {
		file := filepath.Join(t.TempDir(), "cap.pcap")
		os.WriteFile(file, b, 0o644)
		lua, _ := filepath.Abs("../../tools/wireshark/ouroboros.lua")
		out, err := exec.Command(tshark, "-X", "lua_script:"+lua, "-r", file, "-V").CombinedOutput()
		if err != nil {
			t.Fatalf("tshark: %v\n%s", err, out)
		}
		if n := strings.Count(string(out), "Ouroboros eth-dix"); n < len(frames) {
			t.Errorf("tshark dissected %d frames as Ouroboros eth-dix, want %d:\n%s", n, len(frames), out)
		}
	}
}
