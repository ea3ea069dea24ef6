package yamlparser_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/google/go-cmp/cmp"

	"github.com/o7s/ouroboros/testbed/topo/internal/yamlparser"
)

// Sources that take parseMap's less travelled paths: comments around and
// between keys (head, line and foot), a '}' where a block mapping's key
// would be, a block mapping in a flow sequence, and syntax errors.
var tricky = []string{
	"a: 1\nb: 2\nc: 3\n",
	"a: 1\nb: 2\n}\nc: 3\n",
	"a: 1\n}\nb: 2\n",
	"a: {\n b: c\n}\nd: e\n",
	"[\na: b\n]\n",
	"[\na: b\nc: d\n]\n",
	"# head\na: 1 # line\n# between\nb: 2\n# foot\n",
	"a:\n  b: 1\n  # foot of b\nc: 2\n",
	"a:\n  b: 1\n  c: 2\n  # foot of the mapping\nd: 3\n",
	"a:\n  b: 1\n  # foot\n",
	"a:\n  b: 1\n  c: 2\n# foot at 1\n",
	"- a: 1\n  b: 2\n  # foot\n- c: 3\n",
	"a: 1\nb:\n- 1\n- 2\nc: 3\n",
	"a: 1\n- b\n",
	"a: 1\n  b: 2\n",
	"a: 1\nb: - 2\n",
	"? a\n: 1\n? b\n: 2\n",
	"a: &x {b: 1}\nc: *x\nd:\n  <<: *x\n  e: 2\n",
	"a: 1\n\tb: 2\n",
	"a: 1\nb: 2\na: 3\n",
	"{a: 1, b: [c, d: e]}\n",
	"a:\n  b:\n    c:\n      d: 1\n    e: 2\n  f: 3\ng: 4\n",
	"a: 1\n---\nb: 2\n",
	"%YAML 1.2\n---\na: 1\n",
	"a: |\n  text\nb: >\n  more\n",
	"a: 1 # c1\n# c2\nb: 2 # c3\n  # c4\n",
}

// TestSameAsUpstream: the copy gives what goccy/go-yaml's parser gives,
// with and without comments, for tricky sources, the repository's
// topology files and, if GOCCY_YAML_TEST_SUITE names it (the module's
// testdata/yaml-test-suite), every file of the YAML test suite.
func TestSameAsUpstream(t *testing.T) {
	srcs := map[string]string{}
	for i, s := range tricky {
		srcs[fmt.Sprintf("tricky[%d]", i)] = s
	}
	paths, _ := filepath.Glob("../../../../topologies/*.yaml")
	more, _ := filepath.Glob("../../testdata/*.yaml")
	if dir := os.Getenv("GOCCY_YAML_TEST_SUITE"); dir != "" {
		suite, _ := filepath.Glob(filepath.Join(dir, "*", "in.yaml"))
		deeper, _ := filepath.Glob(filepath.Join(dir, "*", "*", "in.yaml"))
		more = append(append(more, suite...), deeper...)
	}
	for _, p := range append(paths, more...) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		srcs[p] = string(b)
	}
	for name, src := range srcs {
		for _, mode := range []parser.Mode{0, parser.ParseComments} {
			if diff := cmp.Diff(upstream(src, mode), copied(src, yamlparser.Mode(mode))); diff != "" {
				t.Errorf("%s (mode %d): the copy differs (-upstream +copy):\n%s", name, mode, diff)
			}
		}
	}
}

// FuzzSameAsUpstream: the copy and upstream agree on any input.
func FuzzSameAsUpstream(f *testing.F) {
	for _, s := range tricky {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		for _, mode := range []parser.Mode{0, parser.ParseComments} {
			if diff := cmp.Diff(upstream(src, mode), copied(src, yamlparser.Mode(mode))); diff != "" {
				t.Fatalf("mode %d: the copy differs (-upstream +copy):\n%s", mode, diff)
			}
		}
	})
}

func upstream(src string, mode parser.Mode) string {
	return result(func() string {
		f, err := parser.ParseBytes([]byte(src), mode, parser.AllowDuplicateMapKey())
		if ye, ok := errors.AsType[yaml.Error](err); ok {
			return fmt.Sprintf("error at %s: %s", at(ye.GetToken().Position), ye.GetMessage())
		} else if err != nil {
			return "error: " + err.Error()
		}
		return dump(f)
	})
}

func copied(src string, mode yamlparser.Mode) string {
	return result(func() string {
		f, err := yamlparser.ParseBytes([]byte(src), mode, yamlparser.AllowDuplicateMapKey())
		if se, ok := errors.AsType[*yamlparser.SyntaxError](err); ok {
			return fmt.Sprintf("error at %s: %s", at(se.GetToken().Position), se.GetMessage())
		} else if err != nil {
			return "error: " + err.Error()
		}
		return dump(f)
	})
}

// result is what fn gives or, if it panics, the panic, so that both
// parsers are compared on inputs that make them (or the ast) panic too.
func result(fn func() string) (s string) {
	defer func() {
		if r := recover(); r != nil {
			s = fmt.Sprintf("panic: %v", r)
		}
	}()
	return fn()
}

func at(p interface{ String() string }) string {
	if p == nil {
		return "nowhere"
	}
	return p.String()
}

// dump writes every node of f with its type, place, path and comments,
// and then f as the ast prints it.
func dump(f *ast.File) string {
	var b strings.Builder
	for _, doc := range f.Docs {
		ast.Walk(dumper{&b}, doc)
		b.WriteString(doc.String())
		b.WriteString("\n---\n")
	}
	return b.String()
}

type dumper struct{ b *strings.Builder }

func (d dumper) Visit(n ast.Node) ast.Visitor {
	pos := "nowhere"
	if doc, ok := n.(*ast.DocumentNode); ok && doc.Start == nil {
		pos = "no ---"
	} else if tk := n.GetToken(); tk != nil && tk.Position != nil {
		pos = tk.Position.String()
	}
	fmt.Fprintf(d.b, "%T %s %s", n, pos, n.GetPath())
	if c := n.GetComment(); c != nil {
		fmt.Fprintf(d.b, " comment=%q@%s", c.String(), c.GetPath())
	}
	switch v := n.(type) {
	case *ast.MappingNode:
		if v.FootComment != nil {
			fmt.Fprintf(d.b, " foot=%q@%s", v.FootComment.String(), v.FootComment.GetPath())
		}
		fmt.Fprintf(d.b, " values=%d", len(v.Values))
	case *ast.MappingValueNode:
		if v.FootComment != nil {
			fmt.Fprintf(d.b, " foot=%q@%s", v.FootComment.String(), v.FootComment.GetPath())
		}
	}
	d.b.WriteByte('\n')
	return d
}
