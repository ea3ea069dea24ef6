package topo

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/lexer"
	"github.com/goccy/go-yaml/token"

	"github.com/o7s/ouroboros/testbed/topo/internal/yamlparser"
)

// The decoder walks the syntax tree from goccy/go-yaml's parser itself
// rather than unmarshalling into structs with yaml.DisallowUnknownField:
// yaml.Unmarshal stops at the first problem and, given two unknown keys in
// one mapping, reports one of them at random (it ranges over a map), while
// a topology file must have every problem reported at once, in a stable
// order, each with its line and column. For the same reason the parser
// runs with AllowDuplicateMapKey and duplicate keys are reported here,
// alongside the rest, instead of stopping the parser. The parser is a copy
// (internal/yamlparser) with its time made linear in the file.

// pos is a place in the file, 1-based; the zero pos is nowhere.
type pos struct{ line, col int }

// scalar is a string from the file and where it is. A key that is absent
// or null is the zero scalar.
type scalar struct {
	s string
	pos
}

func (p pos) given() bool { return p.line > 0 }

// pair is one key and its value in a mapping.
type pair struct {
	key scalar
	val ast.Node
}

// The file as written, before validation.
type (
	rawFile struct {
		name, runtime scalar
		nodesAt       pos
		nodesBad      bool // nodes: is not a mapping
		nodes         []rawNode
		links         []rawLink
		layers        []rawLayer
		tunnels       []rawTunnel
		storyAt       pos
		story         []rawStep
		topology      scalar // a story file's topology file
		hostsAt       pos
		hosts         []rawHost
	}
	rawHost struct {
		name, engine  scalar
		ca, cert, key scalar
	}
	rawNode struct {
		name    scalar
		kind    scalar
		labels  map[string]string
		namesAt pos
		names   []rawName
		// Hosts and gateways: addresses by interface, and routes.
		ipAt     pos
		ips      []rawIP
		routesAt pos
		routes   []scalar
		// The docker runtime: the node's runtime, image and limits.
		runtime, image, cpus, memory scalar
		// A swarm lab's node: the host (engine) it runs on.
		host scalar
		// Another implementation's node: its profile (impl.go).
		impl scalar
	}
	rawName struct {
		name   scalar
		layers []scalar
	}
	rawLink struct {
		at                  pos
		typ, bridge, family scalar
		mtu                 scalar // its number, as written
		endpointsAt         pos    // zero: no endpoints key
		endpoints           []scalar
		endpointsOK         bool // false: endpoints: is not a list of strings
		impairAt            pos  // zero: no impair key
		impair              rawImpair
	}
	// rawImpair is a link's impair: as written: knobs for both
	// directions, and directions with knobs of their own.
	rawImpair struct {
		knobs       []rawKnob
		dirs        []rawDir
		seed, relay scalar
	}
	rawKnob struct {
		key, val scalar
		bad      bool // its value is not a scalar (reported)
	}
	rawDir struct {
		key   scalar // "a->b"
		knobs []rawKnob
	}
	rawLayer struct {
		name, typ, link scalar
		// Unicast and broadcast layers.
		membersAt           pos // zero: no members key
		members             []scalar
		membersBad          bool // members: is not a list of strings
		lowerAt             pos
		lower               []rawLower
		enrollment, connect scalar
		policiesAt          pos
		policies            []rawPolicy
		adjacenciesAt       pos
		adjacencies         [][]scalar
		adjacencyAt         []pos // where each adjacency starts
	}
	rawLower struct {
		member scalar
		layers []scalar
	}
	rawPolicy struct {
		key, val scalar
		number   bool // the key takes a whole number (val is its text)
	}
)

// Keys that a later version will accept, and what to say about them now.
var (
	laterTop   = map[string]string{}
	laterNode  = map[string]string{}
	laterLink  = map[string]string{}
	laterLayer = map[string]string{}
)

// Bounds on what anchors can make of a small file.
const (
	maxAliasDepth = 16   // aliases of aliases, merges of merges
	maxMerges     = 1000 // merge keys expanded in all (a billion laughs)
)

// maxNesting bounds how deep values nest (a level for each collection,
// scalar, anchor and tag): a topology file's values nest 6 deep, and the
// parser's work on a level grows with its depth.
const maxNesting = 32

type decoder struct {
	ctx        context.Context
	file       string
	runtimeOpt string  // LoadOptions.Runtime
	hostsOpt   []*Host // LoadOptions.Hosts
	errs       ErrorList
	more       int // problems past MaxErrors: counted, not reported
	anchors    map[string]ast.Node
	merges     int // merge keys expanded so far
	// Every value the walk looks at goes through resolve, which counts it
	// against budget (aliases can make a small file walk like a large
	// one) and now and then checks ctx.
	values, budget int
	stop           error // ends the walk and the checks: ctx.Err() or errExpands
}

// errExpands stops a walk that aliases have made too long.
var errExpands = errors.New("aliases expand the file too far")

func (d *decoder) errorf(p pos, format string, args ...any) {
	switch {
	case d.stop != nil:
	case d.full():
		d.more++
	default:
		d.errs = append(d.errs, &Error{File: d.file, Line: p.line, Col: p.col, Msg: fmt.Sprintf(format, args...)})
	}
}

// full tells whether MaxErrors problems have been reported, so that a
// further one will only be counted: a check about to work out a costly
// hint (a search of every name for one like it) asks first.
func (d *decoder) full() bool { return len(d.errs) >= MaxErrors }

// skip counts a problem instead of reporting it when MaxErrors have been
// reported (or the walk is stopped), and tells whether it did: a check
// whose message is costly to write calls it first.
func (d *decoder) skip() bool {
	if d.stop != nil {
		return true
	}
	if d.full() {
		d.more++
		return true
	}
	return false
}

// problems is how many problems have been found.
func (d *decoder) problems() int { return len(d.errs) + d.more }

// stopped tells whether the walk has been stopped: its context is done,
// or aliases have expanded the file past its budget. Checks of every item
// of a file call it (through resolve, or once an item) and return early.
func (d *decoder) stopped() bool {
	if d.stop == nil {
		d.values++
		if d.values%1024 == 0 && d.ctx.Err() != nil {
			d.stop = d.ctx.Err()
		}
	}
	return d.stop != nil
}

// parse parses data and walks its syntax tree into a rawFile; a syntax
// error ends the walk.
func (d *decoder) parse(data []byte) *rawFile {
	d.budget = 2*len(data) + 100_000 // a file without aliases walks fewer
	f, err := parseYAML(d.ctx, data)
	if err := d.ctx.Err(); err != nil {
		d.stop = err
		return nil
	}
	if err != nil {
		d.syntaxError(err)
		return nil
	}
	var body ast.Node
	if len(f.Docs) > 0 {
		body = f.Docs[0].Body
	}
	if len(f.Docs) > 1 {
		d.errorf(posOf(f.Docs[1]), "a topology file holds one YAML document; remove the second --- and what follows it")
	}
	d.anchors = map[string]ast.Node{}
	if body != nil {
		ast.Walk(anchorCollector(d.anchors), body)
	}
	if d.stopped() {
		return nil
	}
	return d.top(body)
}

// parseYAML runs the YAML lexer and parser until ctx is done, turning a
// panic in them (a bug on hostile input) into an error.
func parseYAML(ctx context.Context, data []byte) (*ast.File, error) {
	tokens, err := tokenize(ctx, data)
	if err != nil {
		return nil, err
	}
	return recovered(func() (*ast.File, error) {
		return yamlparser.Parse(tokens, 0, yamlparser.AllowDuplicateMapKey(),
			yamlparser.MaxDepth(maxNesting), yamlparser.Interrupt(ctx.Err))
	})
}

// tokenize runs goccy/go-yaml's lexer. The lexer cannot be stopped part
// way, so when ctx can be done it runs on a goroutine of its own, and
// tokenize returns as soon as ctx is done; the lexer then finishes
// (in a second or so a MiB) and its tokens are dropped.
func tokenize(ctx context.Context, data []byte) (token.Tokens, error) {
	lex := func() (token.Tokens, error) {
		return recovered(func() (token.Tokens, error) { return lexer.Tokenize(string(data)), nil })
	}
	if ctx.Done() == nil {
		return lex()
	}
	type result struct {
		tokens token.Tokens
		err    error
	}
	done := make(chan result, 1)
	go func() {
		tokens, err := lex()
		done <- result{tokens, err}
	}()
	select {
	case r := <-done:
		return r.tokens, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// recovered runs fn, turning a panic in it into an error.
func recovered[T any](fn func() (T, error)) (v T, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the YAML parser failed: %v", r)
		}
	}()
	return fn()
}

func (d *decoder) syntaxError(err error) {
	var p pos
	msg := err.Error()
	if ye, ok := errors.AsType[*yamlparser.SyntaxError](err); ok {
		msg = ye.GetMessage()
		if tk := ye.GetToken(); tk != nil && tk.Position != nil {
			p = pos{tk.Position.Line, tk.Position.Column}
		}
	}
	if errors.Is(err, yamlparser.ErrTooDeep) {
		d.errorf(p, "%s; a topology file needs 6 levels at most: write the values with less nesting", msg)
		return
	}
	hint := "fix the YAML syntax"
	if strings.Contains(msg, "'\t'") {
		msg = strings.ReplaceAll(msg, "'\t'", `'\t'`)
		hint = "indent with spaces, not tabs"
	}
	d.errorf(p, "invalid YAML: %s; %s", msg, hint)
}

type anchorCollector map[string]ast.Node

func (a anchorCollector) Visit(n ast.Node) ast.Visitor {
	if an, ok := n.(*ast.AnchorNode); ok && an.Name != nil && an.Name.GetToken() != nil {
		a[an.Name.GetToken().Value] = an.Value
	}
	return a
}

// posOf is where a node starts: a mapping at its first key, anything else
// at its first token.
func posOf(n ast.Node) pos {
	switch v := n.(type) {
	case nil:
		return pos{}
	case *ast.MappingNode:
		if v == nil {
			return pos{}
		}
		if len(v.Values) > 0 {
			return posOf(v.Values[0])
		}
	case *ast.MappingValueNode:
		if v == nil {
			return pos{}
		}
		return posOf(v.Key)
	case *ast.DocumentNode:
		if v == nil {
			return pos{}
		}
		if v.Start == nil || v.Start.Position == nil {
			return posOf(v.Body)
		}
		return pos{v.Start.Position.Line, v.Start.Position.Column} // the ---
	}
	tk := n.GetToken()
	if tk == nil || tk.Position == nil {
		return pos{}
	}
	return pos{tk.Position.Line, tk.Position.Column}
}

// resolve looks through anchors, tags and aliases to the node they mark.
// Once the walk is stopped, it gives nil.
func (d *decoder) resolve(n ast.Node) ast.Node {
	if d.stopped() {
		return nil
	}
	if d.values > d.budget {
		d.errorf(posOf(n), "aliases (*name) and merge keys (<<) expand the file past %d values; write out fewer aliases of large values", d.budget)
		d.stop = errExpands
		return nil
	}
	for range maxAliasDepth {
		switch v := n.(type) {
		case *ast.AnchorNode:
			n = v.Value
		case *ast.TagNode:
			n = v.Value
		case *ast.AliasNode:
			name := ""
			if v.Value != nil && v.Value.GetToken() != nil {
				name = v.Value.GetToken().Value
			}
			a, ok := d.anchors[name]
			if !ok {
				d.errorf(posOf(v), "alias *%s names no anchor; define &%s before using it", name, name)
				return nil
			}
			n = a
		default:
			return n
		}
	}
	d.errorf(posOf(n), "aliases nest more than %d deep; write the value out", maxAliasDepth)
	return nil
}

// describe says what kind of YAML value a node is, for messages.
func describe(n ast.Node) string {
	switch n.(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	case *ast.StringNode, *ast.LiteralNode:
		return "a string"
	case *ast.IntegerNode:
		return "a whole number"
	case *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		return "a fraction"
	case *ast.BoolNode:
		return "a boolean"
	case nil, *ast.NullNode:
		return "empty"
	}
	return "something else"
}

// text is a scalar node's text; ok is false for anything else (null too).
func text(n ast.Node) (s string, ok bool) {
	switch v := n.(type) {
	case *ast.StringNode:
		return v.Value, true
	case *ast.LiteralNode:
		if v.Value == nil {
			return "", true
		}
		return v.Value.Value, true
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode:
		return n.GetToken().Value, true
	}
	return "", false
}

func isNull(n ast.Node) bool {
	_, ok := n.(*ast.NullNode)
	return n == nil || ok
}

// mapSpec says what a mapping is, for messages about it.
type mapSpec struct {
	what    string // "a node", "labels": the mapping, in messages
	example string // a valid value, for when it is not a mapping
	item    string // what its keys are: "key", "node", "layer", ...
	dupHint string // what to do about a repeated key
}

// pairs gives a mapping's keys and values in file order, with merge keys
// (<<: *anchor) expanded. A null value is an empty mapping.
func (d *decoder) pairs(n ast.Node, sp mapSpec) []pair {
	return d.pairsDepth(n, sp, 0)
}

func (d *decoder) pairsDepth(n ast.Node, sp mapSpec, depth int) []pair {
	n = d.resolve(n)
	var mvs []*ast.MappingValueNode
	switch v := n.(type) {
	case *ast.MappingNode:
		mvs = v.Values
	case *ast.MappingValueNode:
		mvs = []*ast.MappingValueNode{v}
	default:
		if !isNull(n) {
			d.errorf(posOf(n), "%s must be a mapping, not %s; write %s", sp.what, describe(n), sp.example)
		}
		return nil
	}
	var own, merged []pair
	first := map[string]pos{}
	for _, mv := range mvs {
		if mv == nil {
			continue
		}
		if _, ok := mv.Key.(*ast.MergeKeyNode); ok {
			m, ok := d.merge(mv, sp, depth)
			if !ok {
				return nil
			}
			merged = append(merged, m...)
			continue
		}
		k, ok := text(d.resolve(mv.Key))
		kp := posOf(mv.Key)
		if !ok {
			d.errorf(kp, "%s: a key must be a plain word, not %s; write %s", sp.what, describe(mv.Key), sp.example)
			continue
		}
		if at, dup := first[k]; dup {
			d.errorf(kp, "%s %q is defined twice (first at line %d); %s", sp.item, k, at.line, sp.dupHint)
			continue
		}
		first[k] = kp
		own = append(own, pair{scalar{k, kp}, mv.Value})
	}
	for _, p := range merged { // keys written out win over merged ones
		if _, dup := first[p.key.s]; !dup {
			first[p.key.s] = p.key.pos
			own = append(own, p)
		}
	}
	return own
}

// merge gives the pairs of a merge key's value: a mapping or a list of
// them. It is not ok when merges go too deep or too far.
func (d *decoder) merge(mv *ast.MappingValueNode, sp mapSpec, depth int) (merged []pair, ok bool) {
	d.merges++
	switch {
	case d.merges > maxMerges:
		if d.merges == maxMerges+1 {
			d.errorf(posOf(mv), "merge keys expand to more than %d merges; write the keys out", maxMerges)
		}
		return nil, false
	case depth >= maxAliasDepth:
		d.errorf(posOf(mv), "merges nest more than %d deep; write the keys out", maxAliasDepth)
		return nil, false
	}
	src := d.resolve(mv.Value)
	srcs := []ast.Node{src}
	if seq, ok := src.(*ast.SequenceNode); ok {
		srcs = seq.Values
	}
	for _, s := range srcs {
		merged = append(merged, d.pairsDepth(s, sp, depth+1)...)
	}
	return merged, true
}

// object gives the pairs of a mapping with a fixed set of keys; any other
// key is a problem, reported with the nearest known key or the full set.
func (d *decoder) object(n ast.Node, what, example string, keys []string, later map[string]string) []pair {
	var known []pair
	for _, p := range d.pairs(n, mapSpec{what, example, "key", "keep one"}) {
		switch {
		case slices.Contains(keys, p.key.s):
			known = append(known, p)
		case later[p.key.s] != "":
			d.errorf(p.key.pos, "%s", later[p.key.s])
		default:
			if s := suggest(p.key.s, keys); s != "" {
				d.errorf(p.key.pos, "unknown key %q in %s; did you mean %q?", p.key.s, what, s)
			} else {
				d.errorf(p.key.pos, "unknown key %q in %s; write one of %s", p.key.s, what, strings.Join(keys, ", "))
			}
		}
	}
	return known
}

// str decodes a string; null is absent (the zero scalar).
func (d *decoder) str(n ast.Node, key, example string) scalar {
	n = d.resolve(n)
	if isNull(n) {
		return scalar{}
	}
	s, ok := text(n)
	if !ok {
		d.errorf(posOf(n), "%s must be a string, not %s; write %s", key, describe(n), example)
		return scalar{}
	}
	return scalar{s, posOf(n)}
}

// strList decodes a list of strings; ok is false if it is not one. With
// flow, a mapping of one pair {a: e1} counts as the string "a:e1":
// goccy/go-yaml parses an unquoted a:e1 that way in a flow list inside a
// flow mapping, as in {endpoints: [a:e1, b:e1]}.
func (d *decoder) strList(n ast.Node, key, example string, flow bool) (list []scalar, ok bool) {
	n = d.resolve(n)
	if isNull(n) {
		return nil, true
	}
	seq, ok := n.(*ast.SequenceNode)
	if !ok {
		d.errorf(posOf(n), "%s must be a list, not %s; write %s", key, describe(n), example)
		return nil, false
	}
	out := make([]scalar, 0, len(seq.Values))
	for _, v := range seq.Values {
		v = d.resolve(v)
		if s, ok := text(v); ok {
			out = append(out, scalar{s, posOf(v)})
			continue
		}
		if flow {
			if s, ok := d.pairString(v); ok {
				out = append(out, scalar{s, posOf(v)})
				continue
			}
		}
		d.errorf(posOf(v), "%s must hold strings, not %s; write %s", key, describe(v), example)
		ok = false
	}
	return out, ok
}

// pairString is "k:v" for a mapping of one scalar key to one scalar value.
func (d *decoder) pairString(n ast.Node) (string, bool) {
	var mv *ast.MappingValueNode
	switch v := n.(type) {
	case *ast.MappingNode:
		if len(v.Values) != 1 {
			return "", false
		}
		mv = v.Values[0]
	case *ast.MappingValueNode:
		mv = v
	}
	if mv == nil {
		return "", false
	}
	k, ok1 := text(mv.Key)
	v, ok2 := text(d.resolve(mv.Value))
	if !ok1 || !ok2 {
		return "", false
	}
	return k + ":" + v, true
}

// number decodes an integer, kept as its text so that a range check can
// quote it as written, whatever its size.
func (d *decoder) number(n ast.Node, key, example string) scalar {
	n = d.resolve(n)
	if isNull(n) {
		return scalar{}
	}
	if in, ok := n.(*ast.IntegerNode); ok {
		return scalar{fmt.Sprint(in.Value), posOf(n)} // an int64 or a uint64
	}
	// An integer too large for 64 bits is a plain string to the parser.
	if sn, ok := n.(*ast.StringNode); ok && sn.Token != nil && sn.Token.Type == token.StringType && digitsRe.MatchString(sn.Value) {
		return scalar{sn.Value, posOf(n)}
	}
	d.errorf(posOf(n), "%s must be a whole number, not %s; write %s", key, describe(n), example)
	return scalar{}
}

var digitsRe = regexp.MustCompile(`^[-+]?[0-9]+$`)
