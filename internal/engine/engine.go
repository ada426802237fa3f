// Package engine decides what one run of clawdinator-bundle does, from a
// validated configuration, and runs it to a result:
//
//	publish   plan ─▶ gate ─▶ assemble ─▶ upload ─▶ pull back ─▶ verify ─▶ manifest
//	assemble  plan ─▶ gate ─▶ assemble ─▶ (write to a directory ─▶ pull back ─▶ verify)
//	verify    read what the bucket holds now ─▶ verify
//	plan      read the instances file ─▶ select (nothing else is read)
//
// Every decision about what to run lives here, where a test reaches it:
// which bucket, whether an unchanged repo-seeds tree may be reused, what a
// run writes to a directory. (Whether verify compares the secrets dir is
// decided with the options, in internal/config.) cmd/ only reads flags and the
// environment into a config.Config, calls Run and presents the result.
package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/openclaw/clawdinator-bundle/internal/agekey"
	"github.com/openclaw/clawdinator-bundle/internal/bucket"
	"github.com/openclaw/clawdinator-bundle/internal/config"
	"github.com/openclaw/clawdinator-bundle/internal/gate"
	"github.com/openclaw/clawdinator-bundle/internal/layout"
	"github.com/openclaw/clawdinator-bundle/internal/manifest"
	"github.com/openclaw/clawdinator-bundle/internal/plan"
	"github.com/openclaw/clawdinator-bundle/internal/problem"
	"github.com/openclaw/clawdinator-bundle/internal/progress"
	"github.com/openclaw/clawdinator-bundle/internal/publish"
	"github.com/openclaw/clawdinator-bundle/internal/result"
	"github.com/openclaw/clawdinator-bundle/internal/verify"
)

// Options are what a run needs besides the configuration.
type Options struct {
	// Version is the tool's version, recorded in manifests.
	Version string
	// Events, when set, receives progress of uploads and checks; it must be
	// safe for concurrent use.
	Events func(progress.Event)
	// SeedsProgress, when set, receives repo-seeds bytes read so far.
	SeedsProgress func(n int64)
	// Bucket, when set, is used instead of opening the configured S3
	// bucket (tests, the demo's in-process store).
	Bucket bucket.Bucket
	// Concurrency is how many instances every step that talks to the
	// bucket works on at once (publish, verify, the repo-seeds reuse
	// lookup), and so the most requests in flight; 0 means
	// bucket.DefaultConcurrency. It is no input of the tool.
	Concurrency int
}

// Run runs cfg.Mode to its result. The error is a configuration problem
// found only now (an S3 client that cannot be built): exit status 2.
// Everything else, findings and operational failures, is in the result.
func Run(ctx context.Context, cfg *config.Config, opt Options) (*result.Result, error) {
	mode := result.Mode(cfg.Mode)
	pol := plan.Policy{Required: cfg.Required, Exclude: cfg.Exclude, Only: cfg.Instances}
	instances, iprobs := plan.LoadInstances(cfg.InstancesFile)

	if mode == result.Plan {
		return planned(instances, iprobs, cfg.InstancesFile, pol), nil
	}
	if mode == result.Verify {
		if len(iprobs) > 0 {
			return &result.Result{Mode: mode, Problems: iprobs}, nil
		}
		b, err := openBucket(ctx, cfg, opt)
		if err != nil {
			return nil, err
		}
		vi := verify.Inputs{Instances: instances, InstancesFile: cfg.InstancesFile, Policy: pol}
		if cfg.CompareSecretsDir {
			vi.SecretsDir = cfg.SecretsDir
		}
		return verify.Verify(ctx, vi, verify.Options{
			Bucket: b, DeepVerify: cfg.DeepVerify, ExpectedRecipient: cfg.ExpectedRecipient, Events: opt.Events,
			Concurrency: opt.Concurrency,
		}), nil
	}

	in := gate.Inputs{
		AgeKey: cfg.AgeKey, SecretsDir: cfg.SecretsDir, RepoSeedsDir: cfg.RepoSeedsDir,
		Instances: instances, InstancesProblems: iprobs, Policy: pol, SeedsAllowKeys: cfg.SeedsAllowKeys,
		Mtime: cfg.Mtime, Progress: opt.SeedsProgress, ExpectedRecipient: cfg.ExpectedRecipient,
	}
	var b bucket.Bucket
	switch {
	case mode == result.Publish:
		// Fail on configuration before spending minutes compressing.
		var err error
		if b, err = openBucket(ctx, cfg, opt); err != nil {
			return nil, err
		}
		if err := requireVersioning(ctx, b, cfg.Bucket); err != nil {
			if errors.As(err, new(*config.UsageError)) {
				return nil, err
			}
			return &result.Result{Mode: mode, Failure: err}, nil
		}
		// An unchanged repo-seeds tree need not be compressed again, when
		// a statement made with our own key vouches for the bucket's copy.
		if key, err := agekey.Parse(cfg.AgeKey); err == nil && len(iprobs) == 0 {
			in.PublishedSeeds = publish.FindProvenSeeds(ctx, b, instances, key, opt.Concurrency)
		}
	case cfg.OutputDir != "":
		if probs := symlinksUnder(cfg.OutputDir, instances); len(probs) > 0 {
			return &result.Result{Mode: mode, Problems: probs}, nil
		}
		b = bucket.Dir(cfg.OutputDir)
	}
	prep, probs, err := gate.Prepare(ctx, in)
	if err != nil || prep == nil {
		return &result.Result{Mode: mode, Problems: probs, Failure: err}, nil
	}
	defer prep.Close()
	if b == nil {
		return publish.Assembled(prep), nil
	}
	popt := publish.Options{
		Bucket: b, DeepVerify: cfg.DeepVerify, ExpectedRecipient: cfg.ExpectedRecipient, Events: opt.Events,
		Concurrency: opt.Concurrency,
		Source:      manifest.Source{Repository: cfg.SourceRepository, SHA: cfg.SourceSHA, RunID: cfg.SourceRunID},
		Tool:        manifest.Tool{Name: "clawdinator-bundle", Version: opt.Version},
	}
	if mode == result.Assemble {
		popt.Wrote = result.Written
	}
	res := publish.Publish(ctx, prep, popt)
	res.Mode = mode
	return res, nil
}

// planned is a plan run's result: the selected instances, or none when
// the instances file or the selection is wrong.
func planned(instances []plan.Instance, iprobs problem.List, file string, pol plan.Policy) *result.Result {
	res := &result.Result{Mode: result.Plan, Problems: iprobs}
	if iprobs.HasErrors() {
		return res
	}
	selected, probs := plan.Select(instances, file, pol)
	res.Problems = append(res.Problems, probs...)
	if probs.HasErrors() {
		// A plan that is wrong is not fanned out.
		return res
	}
	for _, in := range selected {
		res.Planned = append(res.Planned, result.Planned{Instance: in.Name, Prefix: in.BootstrapPrefix, DiscordTokenSecret: in.DiscordTokenSecret})
	}
	return res
}

func openBucket(ctx context.Context, cfg *config.Config, opt Options) (bucket.Bucket, error) {
	if opt.Bucket != nil {
		return opt.Bucket, nil
	}
	if cfg.Dir != "" {
		return bucket.Dir(cfg.Dir), nil
	}
	st, err := bucket.New(ctx, bucket.Config{
		Bucket: cfg.Bucket, Region: cfg.Region, Endpoint: cfg.Endpoint,
		AccessKeyID: cfg.AccessKeyID, SecretAccessKey: cfg.SecretAccessKey, SessionToken: cfg.SessionToken,
		SSE: cfg.SSE, SSEKMSKeyID: cfg.SSEKMSKeyID, ExpectedBucketOwner: cfg.ExpectedOwner,
	})
	if err != nil {
		return nil, &config.UsageError{Msg: err.Error()}
	}
	return st, nil
}

// requireVersioning refuses a bucket that keeps no versions: publish proves
// the versions it wrote, rolls back by version and reuses by version.
func requireVersioning(ctx context.Context, b bucket.Bucket, name string) error {
	v, ok := b.(interface {
		Versioning(ctx context.Context) (bool, error)
	})
	if !ok {
		return nil
	}
	on, err := v.Versioning(ctx)
	if err != nil {
		return err
	}
	if !on {
		return &config.UsageError{Msg: fmt.Sprintf("bucket %s does not have versioning enabled: publish needs it to prove, roll back and reuse versions "+
			"(enable it: aws s3api put-bucket-versioning --bucket %s --versioning-configuration Status=Enabled)", name, name)}
	}
	return nil
}

// symlinksUnder finds symlinks on the paths assemble --out would write
// below dir, before anything is built: a symlink there would lead the
// key elsewhere (bucket.Dir refuses them too, write by write).
func symlinksUnder(dir string, instances []plan.Instance) problem.List {
	var probs problem.List
	seen := map[string]bool{}
	for _, in := range instances {
		p := dir
		parts := strings.Split(in.BootstrapPrefix, "/")
		for _, name := range []string{layout.SecretsObject, layout.SeedsObject, layout.ManifestName} {
			p = dir
			for _, part := range append(append([]string(nil), parts...), name) {
				p = filepath.Join(p, part)
				if seen[p] {
					continue
				}
				seen[p] = true
				if st, err := os.Lstat(p); err == nil && st.Mode()&os.ModeSymlink != 0 {
					probs.Add(problem.Problem{File: p, Message: "is a symlink under the output directory: refused, not followed (remove it, or choose another --out)"})
				}
			}
		}
	}
	return probs
}
