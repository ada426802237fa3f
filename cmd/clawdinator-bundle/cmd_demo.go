//go:build !nodemo

// The demo carries an in-process S3 server (gofakes3); the action's image is
// built with -tags nodemo, which swaps this file for cmd_demo_nodemo.go, so
// the binary that handles the age key has no S3 server in it.

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/openclaw/clawdinator-bundle/internal/bucket"
	"github.com/openclaw/clawdinator-bundle/internal/config"
	"github.com/openclaw/clawdinator-bundle/internal/report"
	"github.com/openclaw/clawdinator-bundle/internal/sample"
)

// runDemo runs the main job end to end with nothing from outside: a
// throwaway key and sample secrets in a temp dir, an in-process
// S3-compatible server on 127.0.0.1, publish, verify, then one tampered
// object that verify must catch.
var demoCommand = command{
	name:    "demo",
	summary: "run publish and verify end to end on generated data, in-process",
	run:     runDemo,
}

func runDemo(ctx context.Context, args []string, s stdio, getenv func(string) string) int {
	if _, _, err := config.ParseArgs(ctx, config.Demo, args, getenv, config.Bindings{}, s.out); err != nil {
		if errors.Is(err, config.ErrHelp) {
			return exitOK
		}
		report.Error(s.err, err)
		return exitUsage
	}
	say := func(format string, a ...any) { fmt.Fprintf(s.err, "\n== "+format+"\n", a...) }
	fail := func(err error) int {
		report.Error(s.err, fmt.Errorf("demo: %w", err))
		return exitFailed
	}

	dir, err := os.MkdirTemp("", "clawdinator-demo-")
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(dir)
	fx, err := sample.Write(dir)
	if err != nil {
		return fail(err)
	}
	say("sample workload in %s: key %s, %d instances, secrets incl. CI-only ones that must not ship", dir, fx.Recipient, len(sample.Instances))

	backend := s3mem.New()
	const bucket = "clawdinator-demo"
	if err := backend.CreateBucket(bucket); err != nil {
		return fail(err)
	}
	if err := backend.SetVersioningConfiguration(bucket, gofakes3.VersioningConfiguration{Status: gofakes3.VersioningEnabled}); err != nil {
		return fail(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fail(err)
	}
	srv := &http.Server{Handler: gofakes3.New(backend).Server(), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	endpoint := "http://" + ln.Addr().String()
	say("in-process S3-compatible server at %s, versioned bucket %s", endpoint, bucket)

	common := []string{
		"--secrets-dir", fx.SecretsDir, "--instances-file", fx.InstancesFile,
		"--s3-bucket", bucket, "--s3-endpoint", endpoint, "--aws-region", "us-east-1",
	}
	demoEnv := func(k string) string {
		if k == "GITHUB_ACTIONS" {
			return ""
		}
		return getenv(k)
	}
	// The demo's own credentials, not the AWS default chain's.
	creds := func(o modeCommand) {
		c := asBucket(o)
		c.AccessKeyID, c.SecretAccessKey = "DEMOACCESSKEYID", "demo-secret-access-key-not-real"
	}
	step := func(mode string, extra ...string) (int, error) {
		args := append(append([]string(nil), common...), extra...)
		if mode == config.Verify {
			// No key, the key's recipient as the pin; the demo's own
			// secrets dir, so that one checked out in the working
			// directory is not compared as drift.
			args = append(append([]string(nil), common...), "--expected-recipient", fx.Recipient)
		}
		return runCLI(ctx, mode, args, s, demoEnv, creds), nil
	}

	say("publish: gate every secret, build, upload, pull back by version id, decrypt every secret with the bundled key")
	if code, err := step(config.Publish, "--repo-seeds-dir", fx.SeedsDir, "--age-key-file", fx.KeyFile); err != nil || code != exitOK {
		return failCode(fail, err, code)
	}
	say("publish again with unchanged inputs: nothing is uploaded, everything is verified")
	if code, err := step(config.Publish, "--repo-seeds-dir", fx.SeedsDir, "--age-key-file", fx.KeyFile); err != nil || code != exitOK {
		return failCode(fail, err, code)
	}
	say("verify: what a host would download now")
	if code, err := step(config.Verify); err != nil || code != exitOK {
		return failCode(fail, err, code)
	}

	say("tamper: overwrite clawdinator-2's secrets.tar.zst behind the tool's back; verify must refuse it")
	junk := []byte("not a bundle")
	if _, err := backend.PutObject(bucket, "bootstrap/clawdinator-2/secrets.tar.zst", map[string]string{}, bytes.NewReader(junk), int64(len(junk)), nil); err != nil {
		return fail(err)
	}
	code, err := step(config.Verify)
	if err != nil {
		return fail(err)
	}
	if code != exitProblems {
		return fail(fmt.Errorf("verify exited %d on a tampered bundle, expected %d", code, exitProblems))
	}
	say("demo passed: publish proved every bundle, verify caught the tampered object (exit status %d, as expected)", code)
	return exitOK
}

// asBucket returns the bucket options of publish or verify.
func asBucket(o modeCommand) *bucket.Config {
	switch o := o.(type) {
	case *publishOptions:
		return &o.bucket
	case *verifyOptions:
		return &o.bucket
	}
	return &bucket.Config{}
}

func failCode(fail func(error) int, err error, code int) int {
	if err == nil {
		err = errors.New("step exited with status " + fmt.Sprint(code))
	}
	return fail(err)
}
