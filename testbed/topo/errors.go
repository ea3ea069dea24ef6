package topo

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Error is one problem in a topology file: where it is and what is wrong,
// followed by what to write instead ("what is wrong; what to write").
type Error struct {
	File string
	Line int // 1-based; 0 when the problem has no place in the file
	Col  int // 1-based; 0 when only the line is known
	Msg  string
}

// Error formats the problem as file:line:col: msg, leaving out what is
// unknown (file:line: msg, or file: msg).
func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteByte(':')
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, "%d:", e.Line)
		if e.Col > 0 {
			fmt.Fprintf(&b, "%d:", e.Col)
		}
	}
	if b.Len() > 0 {
		b.WriteByte(' ')
	}
	b.WriteString(e.Msg)
	return b.String()
}

// MaxErrors is how many problems Parse and Load report. Past it they only
// count them (and work out no hints for them: a "did you mean" searches
// every name), so that a large file that is wrong throughout is rejected
// as fast as a valid one is read.
const MaxErrors = 50

// ErrorList is the problems found in a topology file, sorted by position:
// every one, or the first MaxErrors found followed by an Error without a
// place that says how many more there are. Parse and Load return one
// (never empty) when a file is not valid; use errors.As to get it, or
// errors.As with *Error to get the first problem.
type ErrorList []*Error

// Error lists the problems, one per line.
func (l ErrorList) Error() string {
	s := make([]string, len(l))
	for i, e := range l {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// Unwrap gives the problems to errors.Is and errors.As.
func (l ErrorList) Unwrap() []error {
	errs := make([]error, len(l))
	for i, e := range l {
		errs[i] = e
	}
	return errs
}

// sortDedup sorts the problems by position (stably, so that problems at
// one place stay in the order they were found) and drops repeats.
func (l ErrorList) sortDedup() ErrorList {
	slices.SortStableFunc(l, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
	})
	return slices.CompactFunc(l, func(a, b *Error) bool { return *a == *b })
}

// maxListed is how many names a message lists before it says how many
// more there are.
const maxListed = 20

// listed joins names with sep: all of them, or the first maxListed and
// how many more.
func listed(names []string, sep string) string {
	if len(names) <= maxListed {
		return strings.Join(names, sep)
	}
	return fmt.Sprintf("%s%s… %d more", strings.Join(names[:maxListed], sep), sep, len(names)-maxListed)
}
