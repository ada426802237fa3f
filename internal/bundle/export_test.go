package bundle

// SetDeepScanMin lowers the deep scan's bound for a test.
func SetDeepScanMin(n int64) (restore func()) {
	old := deepScanMin
	deepScanMin = n
	return func() { deepScanMin = old }
}

// PlainScan runs the plain key scan alone over data: the kind of key it
// finds, or "".
func PlainScan(data []byte) string {
	s := newKeyScanner()
	s.Write(data)
	return s.found()
}

// CheckTar runs the writer's tar dialect check over raw, an uncompressed
// tar stream, and, when whole is set, requires it to end there.
func CheckTar(raw []byte, whole bool) error {
	c := &tarCheck{writing: true}
	if _, err := c.Write(raw); err != nil {
		return err
	}
	if whole {
		return c.end()
	}
	return nil
}
