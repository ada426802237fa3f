//go:build faults

package faults_test

import (
	"errors"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/openclaw/clawdinator-bundle/internal/faults"
)

func TestPointFail(t *testing.T) {
	if err := faults.Point("p"); err != nil {
		t.Fatalf("a point nobody set: %v", err)
	}
	restore := faults.Set("p", faults.Fail)
	err := faults.Point("p")
	var fe *faults.Error
	if !errors.As(err, &fe) || fe.Point != "p" || err.Error() != "fault injected at p" {
		t.Errorf("set to fail: %v", err)
	}
	if err := faults.Point("q"); err != nil {
		t.Errorf("another point: %v", err)
	}
	restore()
	if err := faults.Point("p"); err != nil {
		t.Errorf("after restore: %v", err)
	}
}

func TestPointFailFromEnvironment(t *testing.T) {
	t.Setenv(faults.EnvVar, "a=kill, p=fail")
	if err := faults.Point("p"); err == nil {
		t.Error("p: no error")
	}
	if err := faults.Point("pp"); err != nil {
		t.Errorf("pp: %v", err)
	}
	// Set wins over the environment.
	defer faults.Set("a", faults.Fail)()
	if err := faults.Point("a"); err == nil {
		t.Error("a: no error")
	}
}

// TestPointKill: a process killed at a point dies there, by SIGKILL on
// Unix: nothing after the point runs. The test binary runs itself as the
// process to kill.
func TestPointKill(t *testing.T) {
	if os.Getenv("FAULTS_TEST_CHILD") == "1" {
		faults.Point("before")
		os.Stdout.WriteString("reached before\n")
		faults.Point("here")
		os.Stdout.WriteString("survived\n")
		os.Exit(0)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestPointKill$", "-test.count=1")
	cmd.Env = append(os.Environ(), "FAULTS_TEST_CHILD=1", faults.EnvVar+"=here=kill")
	out, err := cmd.Output()
	if !strings.Contains(string(out), "reached before") {
		t.Fatalf("the child did not run up to the point: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "survived") {
		t.Fatalf("the child ran past the kill point:\n%s", out)
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("the child did not fail: %v", err)
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && runtime.GOOS != "windows" && !(ws.Signaled() && ws.Signal() == syscall.SIGKILL) {
		t.Errorf("the child ended with %v, not SIGKILL", ee.ProcessState)
	}
}

func TestPointUnknownAction(t *testing.T) {
	defer faults.Set("p", "explode")()
	defer func() {
		if recover() == nil {
			t.Error("no panic for an unknown action")
		}
	}()
	faults.Point("p")
}
