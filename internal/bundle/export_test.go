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
