// Package faults names the points where a test can make clawdinator-bundle
// fail, or die, on purpose: between the steps of install, say, to prove
// that a run killed at any of them leaves the host as it was or fully
// installed.
//
// A point is a call to Point with a name ("install.swap.seeds"). Built
// without the faults tag, as the product always is, Point returns nil and
// compiles to nothing (point_off.go). Built with -tags faults (point_on.go),
// a point does what was asked for it, in the test's own process through
// Set, or in any process through the environment:
//
//	CLAWDINATOR_BUNDLE_FAULTS=install.swap.key=kill,install.swap.seeds=fail
//
// "fail" makes Point return an *Error; "kill" kills the process at once
// (SIGKILL on Unix), as a power cut or an OOM kill would, leaving whatever
// it had written. Tests that use them carry //go:build faults, and
// scripts/ci/test.sh runs the packages that have such tests a second time
// with -tags faults.
package faults

// EnvVar names the points to act on in a faults build: comma-separated
// name=action pairs, action "fail" or "kill".
const EnvVar = "CLAWDINATOR_BUNDLE_FAULTS"

// Error is what Point returns at a point set to fail.
type Error struct {
	// Point is the name of the point that failed.
	Point string
}

func (e *Error) Error() string { return "fault injected at " + e.Point }
