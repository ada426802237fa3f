//go:build !faults

package faults

// Point is a place where a faults build can fail or kill the process. In
// this build it does nothing.
func Point(name string) error { return nil }
