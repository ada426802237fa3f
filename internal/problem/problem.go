// Package problem defines the typed findings that every check in
// clawdinator-bundle returns instead of printing.
//
// A check never stops at the first bad file: it collects a List of Problems,
// each naming what it is about (a file, an instance, an S3 object or an
// input), so that an operator fixes everything in one round.
package problem

import (
	"errors"
	"fmt"
	"strings"
)

// Severity says whether a Problem blocks the run.
type Severity int

const (
	// Error blocks the run: nothing is uploaded or written.
	Error Severity = iota
	// Warning is reported but does not block (an excluded secret, say).
	Warning
)

// Problem is one finding. Subject names what it is about, in the words an
// operator searches for: a path relative to the directory it came from, an
// instance name, an S3 key or an input name. Message never holds secret
// material.
type Problem struct {
	Severity Severity
	// Instance is the fleet instance the problem concerns, if any.
	Instance string
	// File is a local path the problem concerns, if any (for annotations).
	File string
	// Object is an S3 key the problem concerns, if any.
	Object string
	// Message is a lowercase sentence without final punctuation.
	Message string
}

// String renders the problem as one line: subject first, then the message.
func (p Problem) String() string {
	var parts []string
	if p.Instance != "" {
		parts = append(parts, "instance "+p.Instance)
	}
	if p.Object != "" {
		parts = append(parts, p.Object)
	} else if p.File != "" {
		parts = append(parts, p.File)
	}
	if len(parts) == 0 {
		return p.Message
	}
	return strings.Join(parts, ": ") + ": " + p.Message
}

// List is an ordered collection of problems.
type List []Problem

// Add appends an error-severity problem.
func (l *List) Add(p Problem) { p.Severity = Error; *l = append(*l, p) }

// Warn appends a warning.
func (l *List) Warn(p Problem) { p.Severity = Warning; *l = append(*l, p) }

// Errorf appends an error-severity problem about file with a formatted message.
func (l *List) Errorf(instance, file, format string, args ...any) {
	l.Add(Problem{Instance: instance, File: file, Message: fmt.Sprintf(format, args...)})
}

// Errors returns only the error-severity problems.
func (l List) Errors() List {
	var out List
	for _, p := range l {
		if p.Severity == Error {
			out = append(out, p)
		}
	}
	return out
}

// Warnings returns only the warnings.
func (l List) Warnings() List {
	var out List
	for _, p := range l {
		if p.Severity == Warning {
			out = append(out, p)
		}
	}
	return out
}

// Err returns nil when the list holds no error-severity problem, and an
// *Error that wraps them otherwise.
func (l List) Err() error {
	if errs := l.Errors(); len(errs) > 0 {
		return &ListError{Problems: errs}
	}
	return nil
}

// ListError is returned by checks that found problems. It keeps every one.
type ListError struct {
	Problems List
}

func (e *ListError) Error() string {
	if len(e.Problems) == 1 {
		return e.Problems[0].String()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d problems:", len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}

// AsList extracts the problems from err, or nil if err holds none.
func AsList(err error) List {
	var le *ListError
	if errors.As(err, &le) {
		return le.Problems
	}
	return nil
}
