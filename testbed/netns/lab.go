package netns

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// DefaultRoot holds one directory per lab.
const DefaultRoot = "/run/o7s/labs"

// Lab is what a deploy made, as recorded in the lab directory.
type Lab struct {
	Name    string                `json:"name"`
	File    string                `json:"file"`
	Dir     string                `json:"dir"`
	Created time.Time             `json:"created"`
	Nodes   map[string]*NodeState `json:"nodes"`
	Layers  []LayerState          `json:"layers"`
}

// NodeState is one node of a lab.
type NodeState struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
	NS   string `json:"netns"`
	Sock string `json:"sock,omitempty"`
	Log  string `json:"log,omitempty"`
	PID  int    `json:"pid,omitempty"`
}

// LayerState is one layer of a lab: its IPCPs by node.
type LayerState struct {
	Name  string            `json:"name"`
	Type  string            `json:"type"`
	Link  string            `json:"link"`
	IPCPs map[string]string `json:"ipcps"` // node -> IPCP name
}

func labDir(root, lab string) string { return filepath.Join(root, lab) }

func (l *Lab) save() error {
	if err := os.MkdirAll(l.Dir, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(l.Dir, "state.json.tmp")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(l.Dir, "state.json"))
}

// LoadLab reads a lab's recorded state.
func LoadLab(root, name string) (*Lab, error) {
	b, err := os.ReadFile(filepath.Join(labDir(root, name), "state.json"))
	if os.IsNotExist(err) {
		return nil, fmt.Errorf("%w: %s", ErrNoLab, name)
	}
	if err != nil {
		return nil, err
	}
	var l Lab
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, fmt.Errorf("lab %s: state: %w", name, err)
	}
	return &l, nil
}

// Labs lists the labs recorded under root.
func Labs(root string) []string {
	ents, _ := os.ReadDir(root)
	var l []string
	for _, e := range ents {
		if e.IsDir() {
			l = append(l, e.Name())
		}
	}
	sort.Strings(l)
	return l
}

// NodeNames returns the lab's node names, sorted.
func (l *Lab) NodeNames() []string {
	var ns []string
	for n := range l.Nodes {
		ns = append(ns, n)
	}
	sort.Strings(ns)
	return ns
}

func errNoNode(lab, node string, have []string) error {
	return fmt.Errorf("lab %s has no node %q (nodes: %s)", lab, node, strings.Join(have, ", "))
}

func fail(err error) int {
	fmt.Fprintf(os.Stderr, "otb: %v\n", err)
	return 1
}
