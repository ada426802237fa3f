package main

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The action's image is built with -tags nodemo: the binary that handles
// the age key carries no S3 server, and `demo` says it is not there. The
// default build (go run, go install) keeps the demo and its server: the
// module check below holds on both sides, so it can fail.
func TestNodemoBuildHasNoS3Server(t *testing.T) {
	const fakes3 = "\tgithub.com/johannesboyne/gofakes3\t"
	nodemo := filepath.Join(t.TempDir(), "clawdinator-bundle")
	if out, err := exec.Command("go", "build", "-tags", "nodemo", "-o", nodemo, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build -tags nodemo: %v\n%s", err, out)
	}
	for bin, want := range map[string]bool{binary(t): true, nodemo: false} {
		info, err := exec.Command("go", "version", "-m", bin).CombinedOutput()
		if err != nil {
			t.Fatalf("go version -m: %v\n%s", err, info)
		}
		if got := bytes.Contains(info, []byte(fakes3)); got != want {
			t.Errorf("%s: gofakes3 linked in: %v, want %v\n%s", bin, got, want, info)
		}
	}

	cmd := exec.Command(nodemo, "demo")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if code := cmd.ProcessState.ExitCode(); code != exitUsage {
		t.Fatalf("nodemo demo: exit %d (%v), want %d\n%s", code, err, exitUsage, stderr.String())
	}
	if !strings.Contains(stderr.String(), "demo is not in this build") {
		t.Errorf("nodemo demo: stderr %q", stderr.String())
	}
	if out, err := exec.Command(nodemo, "--help").CombinedOutput(); err != nil || !strings.Contains(string(out), "  demo       not in this build") {
		t.Errorf("nodemo --help: %v\n%s", err, out)
	}
	// demo --help answers as every command does: help on stdout, exit 0.
	var stdout bytes.Buffer
	stderr.Reset()
	cmd = exec.Command(nodemo, "demo", "--help")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil || stderr.Len() > 0 || !strings.HasPrefix(stdout.String(), "usage: clawdinator-bundle demo") || !strings.Contains(stdout.String(), "not in this build") {
		t.Errorf("nodemo demo --help: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
}
