// Package progress is how core code reports a long step while it runs:
// an Event per step, and a Reader that counts bytes as they are read. Core
// packages only send events; cmd/ decides how to draw them, or not to.
package progress

import "io"

// Event is one report of progress: a step starting, or bytes of a
// transfer done so far.
type Event struct {
	// Instance is the instance the step works for ("" when it works for
	// a host's prefix, not a named instance).
	Instance string
	// Step is "upload", "verify", "manifest", ...
	Step string
	// Object is the object the step reads or writes, by name (install's
	// "pin": the recipient, "" when none; "prefix": the prefix read).
	Object string
	// Detail says more about Object where a step has more to say
	// (install's "pin": where the pin came from).
	Detail string
	// Done and Total are byte counts for transfers (Total 0 if unknown).
	Done, Total int64
}

// Reader reports the bytes read so far to Report after every read; a seek
// (an upload retried from the start) sets the count to the new position.
type Reader struct {
	io.ReadSeeker
	n int64
	// Report, when set, receives the count after every read of at least
	// one byte.
	Report func(int64)
}

// Read reads from the underlying reader and reports the new count.
func (p *Reader) Read(b []byte) (int, error) {
	n, err := p.ReadSeeker.Read(b)
	p.n += int64(n)
	if p.Report != nil && n > 0 {
		p.Report(p.n)
	}
	return n, err
}

// Seek seeks the underlying reader and restarts the count there.
func (p *Reader) Seek(off int64, whence int) (int64, error) {
	pos, err := p.ReadSeeker.Seek(off, whence)
	if err == nil {
		p.n = pos
	}
	return pos, err
}
