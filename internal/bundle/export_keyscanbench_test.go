//go:build keyscanbench

package bundle

// SetKeyScanMode selects the deep scan for a test or benchmark: "reopen"
// (the product's), "tee" or "plain" (no deep scan). It returns a function
// that restores the previous mode.
func SetKeyScanMode(mode string) (restore func()) {
	old := deepScanMode
	switch mode {
	case "reopen", "":
		deepScanMode = scanReopen
	case "tee":
		deepScanMode = scanTee
	case "plain":
		deepScanMode = scanPlain
	default:
		panic("unknown key scan mode " + mode)
	}
	return func() { deepScanMode = old }
}
