package bundle_test

import (
	"os"
	"os/exec"
	"testing"
)

// needTool returns the path of an external program the hosts use (GNU tar,
// zstd, age). Without it the test is skipped, except in CI (CI=true), where
// a missing tool means the interop checks silently stopped running: fail.
func needTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not installed: CI must run the interop tests (%v)", name, err)
	}
	t.Skipf("%s is not installed: skipping the interop test (%v)", name, err)
	return ""
}
