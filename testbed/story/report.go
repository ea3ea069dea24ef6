package story

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Table writes the results as a table: step, when, what, result, detail.
func Table(w io.Writer, rs []Result) error {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "STEP\tAT\tTOOK\tWHAT\tRESULT\tDETAIL\n")
	pass := 0
	for _, r := range rs {
		res := "FAIL"
		if r.Pass {
			res, pass = "ok", pass+1
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", r.Index, fmtDur(r.Start), fmtDur(r.Took), clip(Describe(r.Step), 48), res, r.Detail)
	}
	fmt.Fprintf(tw, "\n%d of %d steps passed\n", pass, len(rs))
	return tw.Flush()
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n-3] + "..."
	}
	return s
}

type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Time     float64     `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      float64       `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

// JUnit writes the results as JUnit XML: one test suite (the story, named
// name), a test case per step, with its output.
func JUnit(w io.Writer, name string, rs []Result, took time.Duration) error {
	s := junitSuite{Name: name, Tests: len(rs), Time: took.Seconds()}
	for _, r := range rs {
		c := junitCase{Name: fmt.Sprintf("step %d: %s", r.Index, Describe(r.Step)), Classname: name, Time: r.Took.Seconds(), SystemOut: tailOf(r.Output, 4000)}
		if !r.Pass {
			s.Failures++
			c.Failure = &junitFailure{Message: r.Detail, Text: fmt.Sprintf("line %d: %s", r.Step.Line, r.Detail)}
		}
		s.Cases = append(s.Cases, c)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(junitSuites{Suites: []junitSuite{s}}); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func tailOf(s string, n int) string {
	s = strings.ToValidUTF8(s, "?")
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}
