//go:build keyscanbench

package bundle

import "io"

// The deep scan's modes for bench/keyscan.sh, which builds the package's
// tests with -tags keyscanbench to compare them; the product has only
// scanReopen (copyFile), and only this file knows the others.

// keyScanMode selects how, or whether, WriteSeeds runs the deep scan.
type keyScanMode int

const (
	// scanReopen reads a compressed file a second time after archiving it:
	// copyFile, the product's only mode.
	scanReopen keyScanMode = iota
	// scanTee decompresses in a goroutine fed from the archiving copy.
	scanTee
	// scanPlain is the plain scan alone, as before the deep scan existed.
	scanPlain
)

// deepScanMode is set by SetKeyScanMode (export_keyscanbench_test.go).
var deepScanMode = scanReopen

// archiveFile is copyFile in scanReopen mode, and otherwise archives the
// file with the plain scan and, in scanTee mode, a deep scan of a tee of
// the archiving copy.
func (s *fileScan) archiveFile(w io.Writer, p, rel string, size int64, scan bool) (int64, string, bool, error) {
	if !scan || deepScanMode == scanReopen {
		return s.copyFile(w, p, rel, size, scan)
	}
	f, head, err := s.open(p, size)
	if err != nil {
		return 0, "", false, err
	}
	defer f.Close()
	s.sc.reset()
	ws := []io.Writer{w, s.sc}
	var tee *teeScan
	if deep := deepKindOf(rel, head); deep != deepNone && deepScanMode == scanTee {
		if s.ds == nil {
			s.ds = newDeepScanner()
		}
		tee = startTee(s.ds, deep, size)
		ws = append(ws, tee)
	}
	n, err := s.copyAll(io.MultiWriter(ws...), f, p, head, size)
	var tr teeResult
	if tee != nil {
		tr = tee.wait()
	}
	if err != nil {
		return n, "", false, err
	}
	if kind := s.sc.found(); kind != "" || tee == nil {
		return n, kind, false, nil
	}
	return n, tr.found, tr.truncated && tr.found == "", nil
}

// teeScan runs a deep scan in a goroutine on what is written to it, so the
// archiving copy feeds the decompressor without a second read. Writes never
// fail: once the scan stops, the rest is discarded.
type teeScan struct {
	pw   *io.PipeWriter
	done chan teeResult
}

type teeResult struct {
	found     string
	truncated bool
}

func startTee(d *deepScanner, kind deepKind, size int64) *teeScan {
	pr, pw := io.Pipe()
	t := &teeScan{pw: pw, done: make(chan teeResult, 1)}
	go func() {
		found, truncated := d.scan(pr, kind, size)
		pr.Close() // later writes return at once
		t.done <- teeResult{found, truncated}
	}()
	return t
}

func (t *teeScan) Write(p []byte) (int, error) {
	t.pw.Write(p) // an error means the scan is over
	return len(p), nil
}

// wait ends the input and returns the scan's result.
func (t *teeScan) wait() teeResult {
	t.pw.Close()
	return <-t.done
}
