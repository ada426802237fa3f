//go:build !faults

package faults_test

import (
	"testing"

	"github.com/openclaw/clawdinator-bundle/internal/faults"
)

// TestPointOff: without the faults tag, as the product is built, no point
// acts, whatever the environment asks.
func TestPointOff(t *testing.T) {
	t.Setenv(faults.EnvVar, "p=fail,q=kill")
	for _, name := range []string{"p", "q"} {
		if err := faults.Point(name); err != nil {
			t.Errorf("Point(%q) = %v", name, err)
		}
	}
}
