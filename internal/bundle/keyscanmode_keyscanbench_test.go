//go:build keyscanbench

package bundle_test

import "github.com/openclaw/clawdinator-bundle/internal/bundle"

// The deep scan's modes in a keyscanbench build: the product's and the
// benchmark's (archive_keyscanbench.go).
var (
	// deepModes run the deep scan.
	deepModes = []string{"reopen", "tee"}
	// allModes must give the same archive.
	allModes = []string{"reopen", "tee", "plain"}
)

func setKeyScanMode(mode string) (restore func()) { return bundle.SetKeyScanMode(mode) }
