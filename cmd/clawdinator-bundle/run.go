package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/openclaw/clawdinator-bundle/internal/config"
	"github.com/openclaw/clawdinator-bundle/internal/plan"
	"github.com/openclaw/clawdinator-bundle/internal/publish"
	"github.com/openclaw/clawdinator-bundle/internal/report"
	"github.com/openclaw/clawdinator-bundle/internal/store"
)

// Exit statuses (DESIGN.md): one place maps results to them.
const (
	exitOK       = 0 // all good
	exitProblems = 1 // validation or verification found problems
	exitUsage    = 2 // bad usage or configuration
	exitFailed   = 3 // could not complete: S3 unreachable, denied, timed out
)

// version is stamped at build time with -ldflags "-X main.version=…".
var version = "dev"

type stdio struct {
	in       io.Reader
	out, err io.Writer
}

const usageText = `usage: clawdinator-bundle <command> [flags]

commands:
  publish    gate, upload, pull back and verify every instance's bundle in S3
  verify     prove what S3 (or an assemble --out directory) holds now
  assemble   build the bundles on local disk (--out DIR), no network
  demo       run publish and verify end to end on generated data, in-process
  version    print the version

Run 'clawdinator-bundle <command> --help' for a command's flags.
Inside a GitHub Action (GITHUB_ACTIONS=true, no arguments) options come from INPUT_* variables.
exit status: 0 all good, 1 problems found, 2 bad usage, 3 could not complete
`

func run(ctx context.Context, args []string, s stdio, getenv func(string) string) int {
	if len(args) == 0 {
		if getenv("GITHUB_ACTIONS") == "true" {
			return runAction(ctx, s, getenv)
		}
		fmt.Fprint(s.err, usageText)
		return exitUsage
	}
	switch cmd := args[0]; cmd {
	case "publish", "verify", "assemble":
		return runCLI(ctx, cmd, args[1:], s, getenv)
	case "demo":
		return runDemo(ctx, args[1:], s, getenv)
	case "version", "--version", "-version":
		fmt.Fprintf(s.out, "clawdinator-bundle %s\n", version)
		return exitOK
	case "help", "--help", "-help", "-h":
		fmt.Fprint(s.out, usageText)
		return exitOK
	default:
		fmt.Fprintf(s.err, "%serror: unknown command %q\n\n%s", report.Prefix, cmd, usageText)
		return exitUsage
	}
}

func runCLI(ctx context.Context, mode string, args []string, s stdio, getenv func(string) string) int {
	cfg, err := config.FromArgs(mode, args, getenv, s.err)
	if errors.Is(err, config.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(s.err, "%serror: %v\n", report.Prefix, err)
		return exitUsage
	}
	prog := newProgress(s.err, getenv)
	res, err := execute(ctx, cfg, getenv, prog)
	prog.done()
	if res == nil {
		res = &publish.Result{Mode: mode}
	}
	report.Text(s.err, res)
	if err != nil {
		fmt.Fprintf(s.err, "%serror: %v\n", report.Prefix, err)
	}
	if cfg.JSON {
		report.JSON(s.out, res, err)
	}
	return exitCode(res, err)
}

func exitCode(res *publish.Result, err error) int {
	var ue *config.UsageError
	switch {
	case errors.As(err, &ue):
		return exitUsage
	case err != nil:
		return exitFailed
	case len(res.Problems.Errors()) > 0:
		return exitProblems
	}
	for _, in := range res.Instances {
		if !in.Verified {
			return exitProblems
		}
	}
	return exitOK
}

// execute runs one mode to its result. The error is an operational failure
// (exit 3) or a *config.UsageError (exit 2); findings are in the result.
func execute(ctx context.Context, cfg *config.Config, getenv func(string) string, prog *progress) (*publish.Result, error) {
	mtime, err := sourceDate(getenv)
	if err != nil {
		return nil, err
	}
	pol := plan.Policy{Required: cfg.Required, Exclude: cfg.Exclude, Only: cfg.Instances}
	opt := publish.Options{
		DeepVerify:        cfg.DeepVerify,
		ExpectedRecipient: cfg.ExpectedRecipient,
		Source:            publish.Source{Repository: getenv("GITHUB_REPOSITORY"), SHA: getenv("GITHUB_SHA"), RunID: getenv("GITHUB_RUN_ID")},
		Tool:              publish.Tool{Name: "clawdinator-bundle", Version: version},
		Events:            prog.event,
	}

	if cfg.Mode == config.Verify {
		instances, probs := plan.LoadInstances(cfg.InstancesFile)
		if len(probs) > 0 {
			return &publish.Result{Mode: cfg.Mode, Problems: probs}, nil
		}
		if cfg.Dir != "" {
			opt.Bucket = publish.Dir(cfg.Dir)
		} else if opt.Bucket, err = openStore(ctx, cfg); err != nil {
			return nil, err
		}
		vi := publish.VerifyInputs{Instances: instances, Policy: pol}
		// Compare with the secrets dir when it was given, or when the default
		// one is checked out; a scheduled check without it still runs.
		if st, err := os.Stat(cfg.SecretsDir); cfg.SecretsDirSet || err == nil && st.IsDir() {
			vi.SecretsDir = cfg.SecretsDir
		}
		res := publish.Verify(ctx, vi, opt)
		return res, res.Err()
	}

	in := publish.Inputs{
		AgeKey: cfg.AgeKey, SecretsDir: cfg.SecretsDir, RepoSeedsDir: cfg.RepoSeedsDir,
		InstancesFile: cfg.InstancesFile, Policy: pol, SeedsAllowKeys: cfg.SeedsAllowKeys,
		Mtime: mtime, Progress: prog.seeds,
	}
	var bucket publish.Bucket
	if cfg.Mode == config.Publish {
		// Fail on configuration before spending minutes compressing.
		st, err := openStore(ctx, cfg)
		if err != nil {
			return nil, err
		}
		bucket = st
		// An unchanged repo-seeds tree need not be compressed again.
		if instances, probs := plan.LoadInstances(cfg.InstancesFile); len(probs) == 0 {
			in.PublishedSeeds = publish.FindPublishedSeeds(ctx, st, instances)
		}
	}
	prep, probs, err := publish.Prepare(ctx, in)
	if err != nil || prep == nil {
		return &publish.Result{Mode: cfg.Mode, Problems: probs}, err
	}
	defer prep.Close()
	if cfg.Mode == config.Assemble {
		if cfg.OutputDir == "" {
			return publish.Assembled(prep), nil
		}
		bucket = publish.Dir(cfg.OutputDir)
	}
	opt.Bucket = bucket
	res := publish.Publish(ctx, prep, opt)
	res.Mode = cfg.Mode
	if cfg.Mode == config.Assemble {
		// A directory is written, not uploaded to.
		for i := range res.Instances {
			for j := range res.Instances[i].Objects {
				if o := &res.Instances[i].Objects[j]; o.Status == "uploaded" {
					o.Status = "written"
				}
			}
		}
	}
	return res, res.Err()
}

func openStore(ctx context.Context, cfg *config.Config) (*store.Store, error) {
	st, err := store.New(ctx, store.Config{
		Bucket: cfg.Bucket, Region: cfg.Region, Endpoint: cfg.Endpoint,
		AccessKeyID: cfg.AccessKeyID, SecretAccessKey: cfg.SecretAccessKey, SessionToken: cfg.SessionToken,
		SSE: cfg.SSE, SSEKMSKeyID: cfg.SSEKMSKeyID, ExpectedBucketOwner: cfg.ExpectedOwner,
	})
	if err != nil {
		return nil, &config.UsageError{Msg: err.Error()}
	}
	return st, nil
}

// sourceDate reads SOURCE_DATE_EPOCH, the reproducible-builds convention
// for the mtime stamped on archive entries.
func sourceDate(getenv func(string) string) (time.Time, error) {
	v := getenv("SOURCE_DATE_EPOCH")
	if v == "" {
		return time.Unix(0, 0).UTC(), nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, &config.UsageError{Msg: fmt.Sprintf("SOURCE_DATE_EPOCH must be a non-negative integer, got %q", v)}
	}
	return time.Unix(n, 0).UTC(), nil
}
