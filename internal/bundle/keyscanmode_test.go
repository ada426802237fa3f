//go:build !keyscanbench

package bundle_test

// The deep scan's modes in this build: the product's only one. A build with
// -tags keyscanbench runs the tests in the benchmark's modes too
// (keyscanmode_keyscanbench_test.go).
var (
	// deepModes run the deep scan.
	deepModes = []string{"reopen"}
	// allModes must give the same archive.
	allModes = deepModes
)

func setKeyScanMode(mode string) (restore func()) {
	if mode != "reopen" && mode != "" {
		panic("key scan mode " + mode + " is built only with -tags keyscanbench")
	}
	return func() {}
}
