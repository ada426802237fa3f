//go:build unix

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/openclaw/clawdinator-bundle/internal/sample"
)

func TestRunUsage(t *testing.T) {
	for _, tc := range []struct {
		name   string
		env    map[string]string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{name: "no arguments", args: nil, code: exitUsage, stderr: "usage: clawdinator-bundle <command>"},
		{name: "help", args: []string{"help"}, code: exitOK, stdout: "commands:"},
		{name: "--help", args: []string{"--help"}, code: exitOK, stdout: "  verify "},
		{name: "unknown command", args: []string{"pubish"}, code: exitUsage, stderr: `unknown command "pubish"`},
		{name: "version", args: []string{"version"}, code: exitOK, stdout: "clawdinator-bundle dev\n"},
		{name: "--version", args: []string{"--version"}, code: exitOK, stdout: "clawdinator-bundle dev\n"},
		{name: "demo --help", args: []string{"demo", "--help"}, code: exitOK, stdout: "usage: clawdinator-bundle demo"},
		{name: "demo with an argument", args: []string{"demo", "now"}, code: exitUsage, stderr: "demo takes no arguments"},
		{name: "publish --help", args: []string{"publish", "--help"}, code: exitOK, stdout: "--s3-bucket"},
		{name: "verify --help", args: []string{"verify", "--help"}, code: exitOK, stdout: "--dir"},
		{name: "assemble --help", args: []string{"assemble", "--help"}, code: exitOK, stdout: "--out"},
		{name: "plan --help", args: []string{"plan", "--help"}, code: exitOK, stdout: "usage: clawdinator-bundle plan [flags]"},
		{name: "plan listed", args: []string{"--help"}, code: exitOK, stdout: "\n  plan "},
		{name: "bad flag", args: []string{"verify", "--no-such-flag"}, code: exitUsage, stderr: "no-such-flag"},
		{name: "publish without a bucket", env: map[string]string{"CLAWDINATOR_AGE_KEY": "AGE-SECRET-KEY-1X"}, args: []string{"publish"}, code: exitUsage, stderr: "s3-bucket is required"},
		{name: "bad SOURCE_DATE_EPOCH", env: map[string]string{"SOURCE_DATE_EPOCH": "yesterday", "CLAWDINATOR_AGE_KEY": "AGE-SECRET-KEY-1X"}, args: []string{"assemble"}, code: exitUsage, stderr: "SOURCE_DATE_EPOCH"},
		{name: "--json carries a usage error", env: map[string]string{"SOURCE_DATE_EPOCH": "yesterday", "CLAWDINATOR_AGE_KEY": "AGE-SECRET-KEY-1X"}, args: []string{"assemble", "--json"}, code: exitUsage,
			stdout: `"error": "SOURCE_DATE_EPOCH must be a non-negative integer, got \"yesterday\""`, stderr: "SOURCE_DATE_EPOCH"},
		{name: "version --help", args: []string{"version", "--help"}, code: exitOK, stdout: "usage: clawdinator-bundle version\n"},
		{name: "version with an argument", args: []string{"version", "now"}, code: exitUsage, stderr: "version takes no arguments"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runIn(t, tc.env, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, stdout, stderr)
			}
			if !strings.Contains(stdout, tc.stdout) || !strings.Contains(stderr, tc.stderr) {
				t.Errorf("want stdout containing %q and stderr containing %q\nstdout:\n%s\nstderr:\n%s", tc.stdout, tc.stderr, stdout, stderr)
			}
		})
	}
}

// The CLI's assemble, verify --dir and the Action run the same engine: the
// same bundle proves the same way through each, and a changed byte fails
// each with exit 1.
func TestRunAssembleVerify(t *testing.T) {
	dir := t.TempDir()
	fx, err := sample.Write(dir)
	if err != nil {
		t.Fatal(err)
	}
	inDir(t, dir)
	env := map[string]string{"CLAWDINATOR_AGE_KEY": string(fx.Key)}

	code, stdout, stderr := runIn(t, env, "assemble", "--out", "out", "--json")
	if code != exitOK {
		t.Fatalf("assemble: exit %d\n%s", code, stderr)
	}
	var doc struct {
		OK        bool   `json:"ok"`
		Mode      string `json:"mode"`
		Recipient string `json:"recipient"`
		Instances []struct {
			Objects []struct{ Status string }
		}
	}
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatalf("--json: %v\n%s", err, stdout)
	}
	if !doc.OK || doc.Mode != "assemble" || doc.Recipient != fx.Recipient || len(doc.Instances) != len(sample.Instances) || doc.Instances[0].Objects[0].Status != "written" {
		t.Errorf("assemble --json: %+v", doc)
	}
	if strings.Contains(stderr, sample.Canary) || strings.Contains(stdout, "AGE-SECRET-KEY") {
		t.Fatal("a plaintext or the key reached the output")
	}

	code, _, stderr = runIn(t, nil, "verify", "--dir", "out", "--expected-recipient", fx.Recipient)
	if code != exitOK || !strings.Contains(stderr, "clawdinator-2: 9 secrets decrypted to EOF with the bundled key") {
		t.Fatalf("verify --dir: exit %d\n%s", code, stderr)
	}

	outputs := filepath.Join(t.TempDir(), "outputs")
	summaryFile := filepath.Join(t.TempDir(), "summary")
	action := map[string]string{
		"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": outputs, "GITHUB_STEP_SUMMARY": summaryFile,
		"INPUT_MODE": "verify", "INPUT_S3-BUCKET": "unused", "INPUT_EXPECTED-RECIPIENT": fx.Recipient,
	}
	// The Action reads a bucket; a directory is a CLI flag. Prove the
	// Action's presenter on assemble instead.
	action["INPUT_MODE"], action["INPUT_AGE-KEY"], action["INPUT_OUTPUT-DIR"] = "assemble", string(fx.Key), "action-out"
	code, stdout, _ = runIn(t, action)
	if code != exitOK {
		t.Fatalf("action assemble: exit %d\n%s", code, stdout)
	}
	if strings.Contains(stdout, "::error") || !strings.Contains(stdout, "::add-mask::") {
		t.Errorf("action log:\n%s", stdout)
	}
	out, _ := os.ReadFile(outputs)
	sum, _ := os.ReadFile(summaryFile)
	if !strings.Contains(string(out), "recipient<<") || !strings.Contains(string(out), fx.Recipient) || !strings.Contains(string(sum), "### ✅ clawdinator-bundle assemble") {
		t.Errorf("outputs:\n%s\nsummary:\n%s", out, sum)
	}

	// One changed byte in one secrets archive.
	p := filepath.Join("out", "bootstrap", "clawdinator-2", "secrets.tar.zst")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 1
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = runIn(t, nil, "verify", "--dir", "out", "--expected-recipient", fx.Recipient, "--json")
	if code != exitProblems || !strings.Contains(stderr, "error: instance clawdinator-2: bootstrap/clawdinator-2/secrets.tar.zst") || !strings.Contains(stdout, `"ok": false`) {
		t.Errorf("verify of a changed archive: exit %d\n%s\n%s", code, stderr, stdout)
	}
}

// A problem about a local file is an annotation on that file; one about an
// input (the age key) names the input and is not a file= annotation.
func TestRunActionAnnotations(t *testing.T) {
	dir := t.TempDir()
	fx, err := sample.Write(dir)
	if err != nil {
		t.Fatal(err)
	}
	inDir(t, dir)
	if err := os.Remove(filepath.Join("nix", "age-secrets", "clawdinator-control-token.age")); err != nil {
		t.Fatal(err)
	}
	code, stdout, _ := runIn(t, map[string]string{"GITHUB_ACTIONS": "true", "INPUT_MODE": "assemble", "INPUT_AGE-KEY": "AGE-SECRET-KEY-1NOTAKEY"})
	if code != exitProblems {
		t.Fatalf("exit %d\n%s", code, stdout)
	}
	if !strings.Contains(stdout, "::error file=nix/age-secrets/clawdinator-control-token.age,title=clawdinator-bundle::") {
		t.Errorf("no file annotation for the missing secret:\n%s", stdout)
	}
	if !strings.Contains(stdout, "::error title=clawdinator-bundle::age-key: ") || strings.Contains(stdout, "file=age-key") {
		t.Errorf("the age-key problem is not an input annotation:\n%s", stdout)
	}
	if strings.Contains(stdout, "NOTAKEY") && !strings.Contains(stdout, "::add-mask::AGE-SECRET-KEY-1NOTAKEY") {
		t.Errorf("the key text reached the log:\n%s", stdout)
	}
	_ = fx
}

// A key file that is a FIFO nobody writes to does not hold the run
// forever: SIGINT or SIGTERM (main turns them into ctx's cancellation) end
// it with exit 3.
func TestRunInterruptedReadingKey(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "key.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var errb bytes.Buffer
	go func() {
		done <- run(ctx, []string{"assemble", "--age-key-file", fifo}, stdio{in: strings.NewReader(""), out: io.Discard, err: &errb}, func(string) string { return "" })
	}()
	cancel()
	select {
	case code := <-done:
		if code != exitFailed || !strings.Contains(errb.String(), "interrupted") {
			t.Errorf("exit %d, stderr %q; want 3 and interrupted", code, errb.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the run did not end after cancellation")
	}
}

// plan reads the instances file and nothing else: given every input a
// publish would get (a key, a bucket, an endpoint, credentials), it sends
// no request to the endpoint, and prints the key nowhere. The same inputs
// in verify do reach the endpoint: the counter works.
func TestRunPlanContactsNothing(t *testing.T) {
	dir := t.TempDir()
	fx, err := sample.Write(dir)
	if err != nil {
		t.Fatal(err)
	}
	inDir(t, dir)
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		http.Error(w, "no", http.StatusForbidden)
	}))
	defer srv.Close()
	outputs := filepath.Join(t.TempDir(), "outputs")
	env := map[string]string{
		"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": outputs, "AWS_EC2_METADATA_DISABLED": "true", "CLAWDINATOR_PROGRESS": "0",
		"INPUT_MODE": "plan", "INPUT_AGE-KEY": string(fx.Key), "INPUT_S3-BUCKET": "b", "INPUT_S3-ENDPOINT": srv.URL,
		"INPUT_AWS-REGION": "us-east-1", "INPUT_AWS-ACCESS-KEY-ID": "AKIDPLAN", "INPUT_AWS-SECRET-ACCESS-KEY": "plan-secret-not-real",
		"INPUT_INSTANCES": "clawdinator-1\nclawdinator-babelfish",
	}
	code, stdout, stderr := runIn(t, env)
	if code != exitOK || requests.Load() != 0 {
		t.Fatalf("plan: exit %d, %d requests\n%s\n%s", code, requests.Load(), stdout, stderr)
	}
	out, _ := os.ReadFile(outputs)
	if !strings.Contains(string(out), "\n"+`["clawdinator-1","clawdinator-babelfish"]`+"\n") {
		t.Errorf("instances output:\n%s", out)
	}
	// Masked first, as in every mode, and printed nowhere else.
	checkMasksFirst(t, stdout, keyLine(t, fx.Key), "plan-secret-not-real")
	checkNoLeak(t, actionRun{stdout: stdout, stderr: stderr, output: string(out)}, keyLine(t, fx.Key), "plan-secret-not-real")

	// The CLI lists the same instances.
	code, stdout, _ = runIn(t, nil, "plan", "--instances", "clawdinator-1,clawdinator-babelfish")
	if code != exitOK || stdout != "clawdinator-1\nclawdinator-babelfish\n" {
		t.Errorf("CLI plan: exit %d, stdout %q", code, stdout)
	}

	env["INPUT_MODE"], env["INPUT_EXPECTED-RECIPIENT"] = "verify", "none"
	if code, _, _ := runIn(t, env); code == exitOK || requests.Load() == 0 {
		t.Fatalf("verify against the same endpoint: exit %d, %d requests: the counter sees nothing", code, requests.Load())
	}
}

// Every command answers --help and -h alike: its help on stdout, nothing
// on stderr, exit status 0; the help names its exit statuses.
func TestHelpEverywhere(t *testing.T) {
	for _, c := range commands() {
		for _, flag := range []string{"--help", "-h"} {
			code, stdout, stderr := runIn(t, nil, c.name, flag)
			if code != exitOK || stderr != "" || !strings.HasPrefix(stdout, "usage: clawdinator-bundle "+c.name) || !strings.Contains(stdout, "\nexit status:\n  0 ") {
				t.Errorf("%s %s: exit %d\nstdout:\n%s\nstderr:\n%s", c.name, flag, code, stdout, stderr)
			}
		}
	}
}
