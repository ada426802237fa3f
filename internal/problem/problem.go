// Package problem defines the typed findings that every check in
// clawdinator-bundle returns instead of printing.
//
// A check never stops at the first bad file: it collects a List of Problems,
// each naming what it is about, so that an operator fixes everything in one
// round. What a problem is about is typed: an input (an option such as
// age-key), a local file, an instance, an object in the bucket, or an entry
// inside an archive. Presenters use the type: only a File becomes a file=
// annotation in GitHub Actions.
//
// Messages and reports abbreviate digests and version ids one way, with
// Short and ShortVersion.
package problem

import (
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

// String returns "error" or "warning".
func (s Severity) String() string {
	if s == Warning {
		return "warning"
	}
	return "error"
}

// Problem is one finding. Each subject field has one meaning; a problem may
// set several (an entry inside an object of an instance). Message never
// holds secret material.
type Problem struct {
	Severity Severity
	// Instance is the fleet instance the problem concerns, if any.
	Instance string
	// Input is an option or action input (age-key, expected-recipient).
	Input string
	// File is a local path, as the user gave it.
	File string
	// Object is a key in the bucket (or in an assemble --out directory).
	Object string
	// Entry is a path inside an archive: inside Object when that is set.
	Entry string
	// Message is a lowercase sentence without final punctuation.
	Message string
}

// String renders the problem as one line: subjects first, from the
// instance down to the entry, then the message.
func (p Problem) String() string {
	var parts []string
	if p.Instance != "" {
		parts = append(parts, "instance "+p.Instance)
	}
	for _, s := range []string{p.Input, p.File, p.Object, p.Entry} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(append(parts, p.Message), ": ")
}

// List is an ordered collection of problems.
type List []Problem

// Add appends an error-severity problem.
func (l *List) Add(p Problem) { p.Severity = Error; *l = append(*l, p) }

// Warn appends a warning.
func (l *List) Warn(p Problem) { p.Severity = Warning; *l = append(*l, p) }

// Errorf appends an error-severity problem about a local file (of an
// instance, when instance is not empty) with a formatted message.
func (l *List) Errorf(instance, file, format string, args ...any) {
	l.Add(Problem{Instance: instance, File: file, Message: fmt.Sprintf(format, args...)})
}

// Entryf appends an error-severity problem about an archive entry ("" for
// the archive as a whole) with a formatted message.
func (l *List) Entryf(entry, format string, args ...any) {
	l.Add(Problem{Entry: entry, Message: fmt.Sprintf(format, args...)})
}

// In sets instance and object on every problem that names neither: checks
// of one archive report entries, and the caller knows whose archive it is.
func (l List) In(instance, object string) List {
	for i := range l {
		if l[i].Instance == "" {
			l[i].Instance = instance
		}
		if l[i].Object == "" && l[i].File == "" && l[i].Input == "" {
			l[i].Object = object
		}
	}
	return l
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

// HasErrors reports whether any problem blocks the run.
func (l List) HasErrors() bool { return len(l.Errors()) > 0 }

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

// Short abbreviates a digest for people, in messages and tables: its first
// 12 characters, or a dash when there is none. Reports that machines read
// (JSON, manifests) keep digests whole.
func Short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	if h == "" {
		return "—"
	}
	return h
}

// ShortVersion abbreviates a long S3 version id for people (JSON keeps it
// whole): its first and last 8 characters, since 32 characters of opaque
// id make a message or a table unreadable.
func ShortVersion(v string) string {
	if len(v) > 20 {
		return v[:8] + "…" + v[len(v)-8:]
	}
	return v
}
