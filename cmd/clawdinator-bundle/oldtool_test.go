package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/rogpeppe/go-internal/testscript"
)

// oldCommit is the last commit whose install reads only version 1
// statements: hosts still running it must refuse a version 2 bundle and
// keep what they have (docs/host.md, "Upgrade hosts first").
const oldCommit = "dff049f"

var oldTool struct {
	once sync.Once
	dir  string
	path string
	err  error
	// absent says the checkout does not hold oldCommit (a shallow clone):
	// the script is skipped, under CI=true too, since what is missing is
	// history, not a tool this machine could install.
	absent bool
}

// buildOldTool builds the binary of oldCommit, once per test binary, from
// a detached git worktree of this repository.
func buildOldTool() (string, error) {
	oldTool.once.Do(func() {
		top, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
		if err != nil {
			oldTool.err = fmt.Errorf("not in a git checkout: %v", err)
			return
		}
		root := strings.TrimSpace(string(top))
		if err := exec.Command("git", "-C", root, "cat-file", "-e", oldCommit+"^{commit}").Run(); err != nil {
			oldTool.err = fmt.Errorf("commit %s is not in this checkout (a shallow clone? fetch the history): %v", oldCommit, err)
			oldTool.absent = true
			return
		}
		dir, err := os.MkdirTemp("", "clawdinator-old-tool-")
		if err != nil {
			oldTool.err = err
			return
		}
		oldTool.dir = dir
		wt := filepath.Join(dir, "src")
		if out, err := exec.Command("git", "-C", root, "worktree", "add", "-q", "--detach", wt, oldCommit).CombinedOutput(); err != nil {
			oldTool.err = fmt.Errorf("git worktree add %s: %v\n%s", oldCommit, err, out)
			return
		}
		defer exec.Command("git", "-C", root, "worktree", "remove", "--force", wt).Run()
		bin := filepath.Join(dir, "clawdinator-bundle")
		build := exec.Command("go", "build", "-o", bin, "./cmd/clawdinator-bundle")
		build.Dir = wt
		if out, err := build.CombinedOutput(); err != nil {
			oldTool.err = fmt.Errorf("build %s: %v\n%s", oldCommit, err, out)
			return
		}
		oldTool.path = bin
	})
	return oldTool.path, oldTool.err
}

func removeOldTool() {
	if oldTool.dir != "" {
		os.RemoveAll(oldTool.dir)
	}
}

// oldToolCondition is the script condition [oldtool]: whether the binary
// of oldCommit could be built. Under CI=true it must be, unless the
// checkout lacks the commit itself: failing to build it is an error, not a
// skip.
func oldToolCondition(cond string) (bool, error) {
	if cond != "oldtool" {
		return false, fmt.Errorf("unknown condition %q", cond)
	}
	_, err := buildOldTool()
	if err != nil && os.Getenv("CI") == "true" && !oldTool.absent {
		return false, fmt.Errorf("the binary of %s: %v", oldCommit, err)
	}
	return err == nil, nil
}

// cmdOldTool runs the binary of oldCommit: "oldtool [args...]", or
// "! oldtool ..." for a run that must fail. Scripts check [oldtool] first.
func cmdOldTool(ts *testscript.TestScript, neg bool, args []string) {
	bin, err := buildOldTool()
	if err != nil {
		ts.Fatalf("the binary of %s: %v", oldCommit, err)
	}
	err = ts.Exec(bin, args...)
	switch {
	case err != nil && !neg:
		ts.Fatalf("oldtool %s: %v", strings.Join(args, " "), err)
	case err == nil && neg:
		ts.Fatalf("oldtool %s succeeded unexpectedly", strings.Join(args, " "))
	}
}
