//go:build !keyscanbench

package bundle

import "io"

// archiveFile is copyFile. A build with -tags keyscanbench puts the
// benchmark's other deep scan modes in front of it (archive_keyscanbench.go);
// the product has only this one.
func (s *fileScan) archiveFile(w io.Writer, p, rel string, size int64, scan bool) (int64, string, bool, error) {
	return s.copyFile(w, p, rel, size, scan)
}
