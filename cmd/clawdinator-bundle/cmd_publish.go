package main

import (
	"context"
	"errors"
	"time"

	"github.com/openclaw/clawdinator-bundle/internal/agekey"
	"github.com/openclaw/clawdinator-bundle/internal/bucket"
	"github.com/openclaw/clawdinator-bundle/internal/config"
	"github.com/openclaw/clawdinator-bundle/internal/gate"
	"github.com/openclaw/clawdinator-bundle/internal/manifest"
	"github.com/openclaw/clawdinator-bundle/internal/plan"
	"github.com/openclaw/clawdinator-bundle/internal/problem"
	"github.com/openclaw/clawdinator-bundle/internal/publish"
	"github.com/openclaw/clawdinator-bundle/internal/result"
)

var publishCommand = command{
	name:    "publish",
	summary: "gate, upload, pull back and verify every instance's bundle in S3",
	run: func(ctx context.Context, args []string, s stdio, getenv func(string) string) int {
		return runCLI(ctx, config.Publish, args, s, getenv, nil)
	},
}

// publishOptions are publish's options, bound to the fields of the
// packages that act on them:
//
//	plan ─▶ gate ─▶ assemble ─▶ upload ─▶ pull back ─▶ verify ─▶ manifest
type publishOptions struct {
	buildOptions
	bucket bucket.Config
}

func (o *publishOptions) bindings() config.Bindings {
	b := o.bind()
	o.src.bind(b, &o.gate.SecretsDir)
	return bindBucket(b, &o.bucket, true)
}

// buildOptions are what publish and assemble share: the gate's inputs and
// the publish step's options.
type buildOptions struct {
	instancesFile string
	gate          gate.Inputs
	publish       publish.Options
	// src is where the secrets come from (a bucket prefix: publish only).
	src secretsSource
}

func (o *buildOptions) bind() config.Bindings {
	b := config.Bindings{
		"age-key": &o.gate.AgeKey, "secrets-dir": &o.gate.SecretsDir, "repo-seeds-dir": &o.gate.RepoSeedsDir,
		"repo-seeds-allow-keys": &o.gate.SeedsAllowKeys, "expected-recipient": &o.gate.ExpectedRecipient,
		"deep-verify": &o.publish.DeepVerify,
	}
	o.src.dir = &o.gate.SecretsDir
	return bindPolicy(b, &o.instancesFile, &o.gate.Policy)
}

// environment reads what publish and assemble take from the environment:
// the archives' mtime and the manifests' source.
func (o *buildOptions) environment(getenv func(string) string, set config.Set) error {
	if err := o.src.check(set); err != nil {
		return err
	}
	t, err := config.SourceDate(getenv("SOURCE_DATE_EPOCH"))
	if err != nil {
		return err
	}
	o.gate.Mtime = t
	// assemble's sequence: SOURCE_DATE_EPOCH, so that its output is
	// reproducible; publish starts from the clock instead (publishTo).
	o.gate.Start = t
	o.publish.Source = manifest.Source{Repository: getenv("GITHUB_REPOSITORY"), SHA: getenv("GITHUB_SHA"), RunID: getenv("GITHUB_RUN_ID")}
	o.publish.Tool = manifest.Tool{Name: "clawdinator-bundle", Version: version}
	return nil
}

func (o *publishOptions) run(ctx context.Context, prog *progress) (*result.Result, error) {
	// Fail on configuration before spending minutes compressing.
	b, err := openBucket(ctx, o.bucket, "")
	if err != nil {
		return nil, err
	}
	if err := publish.RequireVersioning(ctx, b, o.bucket.Bucket); err != nil {
		if errors.As(err, new(*problem.UsageError)) {
			return nil, err
		}
		return &result.Result{Mode: result.Publish, Failure: err}, nil
	}
	// The secrets from the bucket, under the lock, before anything is
	// built or written.
	if res, err := o.src.fetch(ctx, b, o.bucket.Bucket, result.Publish); res != nil || err != nil {
		return res, err
	}
	res := o.publishTo(ctx, b, prog)
	o.src.finish(res)
	return res, nil
}

// publishTo publishes to b, a bucket that keeps versions.
func (o *publishOptions) publishTo(ctx context.Context, b bucket.Bucket, prog *progress) *result.Result {
	o.gate.Instances, o.gate.InstancesProblems = plan.LoadInstances(o.instancesFile)
	// The statements' sequence starts from now and from what is current;
	// an unchanged repo-seeds tree need not be compressed again, when a
	// statement made with our own key vouches for the bucket's copy.
	o.gate.Start = time.Now()
	if key, err := agekey.Parse(o.gate.AgeKey); err == nil && len(o.gate.InstancesProblems) == 0 {
		o.gate.Published = publish.FindCurrent(ctx, b, o.gate.Instances, key, o.publish.Concurrency)
	}
	o.publish.Bucket = b
	return build(ctx, result.Publish, &o.gate, o.publish, prog)
}

// build gates and assembles the bundles, then publishes them to
// opt.Bucket (an assemble --out directory too), or, without one, reports
// them as built in memory.
func build(ctx context.Context, mode result.Mode, in *gate.Inputs, opt publish.Options, prog *progress) *result.Result {
	in.Progress, opt.Events = prog.seeds, prog.event
	prep, probs, err := gate.Prepare(ctx, *in)
	if err != nil || prep == nil {
		return &result.Result{Mode: mode, Problems: probs, Failure: err}
	}
	defer prep.Close()
	if opt.Bucket == nil {
		return publish.Assembled(prep)
	}
	res := publish.Publish(ctx, prep, opt)
	res.Mode = mode
	return res
}
