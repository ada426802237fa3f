package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openclaw/clawdinator-bundle/internal/config"
)

// binRun is one run of the built binary and what it left behind.
type binRun struct {
	code            int
	stdout, stderr  string
	output, summary string
	// tmp is the run's TMPDIR, for checks of what was left there.
	tmp  string
	took time.Duration
}

// binOpts says how to run the built binary.
type binOpts struct {
	dir  string
	args []string
	// env is added to PATH and the fresh HOME, TMPDIR, GITHUB_OUTPUT and
	// GITHUB_STEP_SUMMARY every run gets.
	env []string
	// combined sends stdout and stderr to one file, so their relative order
	// is exact; both are then in stdout.
	combined bool
	// deadline, when set, bounds the run: exceeding it fails the test.
	deadline time.Duration
}

// runBinary runs the built binary as the runner or a user would: a real
// process with exactly the environment given.
func runBinary(t *testing.T, o binOpts) binRun {
	t.Helper()
	base := t.TempDir()
	r := binRun{tmp: filepath.Join(base, "tmp")}
	home := filepath.Join(base, "home")
	outFile, sumFile := filepath.Join(base, "github_output"), filepath.Join(base, "step_summary")
	for _, d := range []string{r.tmp, home} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{outFile, sumFile} {
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	if o.deadline > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.deadline)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, binary(t), o.args...)
	cmd.Dir = o.dir
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + home, "TMPDIR=" + r.tmp,
		"GITHUB_OUTPUT=" + outFile, "GITHUB_STEP_SUMMARY=" + sumFile,
		"AWS_EC2_METADATA_DISABLED=true",
	}, o.env...)
	var stdout, stderr bytes.Buffer
	combinedFile := filepath.Join(base, "combined")
	if o.combined {
		f, err := os.Create(combinedFile)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		cmd.Stdout, cmd.Stderr = f, f
	} else {
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
	}
	start := time.Now()
	err := cmd.Run()
	r.took = time.Since(start)
	if ctx.Err() != nil {
		t.Fatalf("the run did not end within %v\n--- stdout\n%s--- stderr\n%s", o.deadline, stdout.String(), stderr.String())
	}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("run %v: %v", o.args, err)
	}
	r.stdout, r.stderr = stdout.String(), stderr.String()
	if o.combined {
		r.stdout = string(readTestFile(t, combinedFile))
	}
	r.output, r.summary = string(readTestFile(t, outFile)), string(readTestFile(t, sumFile))
	return r
}

// actionEnv is what the runner sets for a Docker action in workspace ws:
// every input of action.yml, inputs overriding the defaults.
func actionEnv(ws string, inputs map[string]string) []string {
	env := []string{
		"GITHUB_ACTIONS=true", "CI=true", "GITHUB_WORKSPACE=" + ws,
		"GITHUB_REPOSITORY=openclaw/clawdinators", "GITHUB_RUN_ID=987654321",
		"GITHUB_SHA=0123456789abcdef0123456789abcdef01234567",
	}
	for _, o := range config.Options {
		v, ok := inputs[o.Name]
		if !ok {
			v = o.Default
		}
		env = append(env, "INPUT_"+strings.ToUpper(o.Name)+"="+v)
	}
	return env
}

func readTestFile(t *testing.T, p string) []byte {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
