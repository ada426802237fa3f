package main

import (
	"context"
	"io"

	"github.com/openclaw/clawdinator-bundle/internal/bucket"
	"github.com/openclaw/clawdinator-bundle/internal/config"
	"github.com/openclaw/clawdinator-bundle/internal/plan"
	"github.com/openclaw/clawdinator-bundle/internal/report"
	"github.com/openclaw/clawdinator-bundle/internal/result"
)

// modeCommand is a command that is also one of the Action's modes
// (publish, verify, assemble, plan): its options struct, beside it in
// cmd_<name>.go, binds the option table's rows to the fields of the
// packages that act, and run hands them over.
type modeCommand interface {
	bindings() config.Bindings
	// environment reads what the command takes from the environment and
	// checks what spans several options, once the options are read.
	environment(getenv func(string) string, set config.Set) error
	// run does the command's work. The error is a configuration problem
	// found only now (an S3 client that cannot be built): exit status 2.
	run(ctx context.Context, prog *progress) (*result.Result, error)
}

// newMode returns the empty options of a mode.
func newMode(mode string) modeCommand {
	switch mode {
	case config.Publish:
		return &publishOptions{}
	case config.Verify:
		return &verifyOptions{}
	case config.Assemble:
		return &assembleOptions{}
	}
	return &planOptions{}
}

// runCLI runs a mode from command-line flags; adjust, when set, changes
// the options once read (the demo's credentials).
func runCLI(ctx context.Context, mode string, args []string, s stdio, getenv func(string) string, adjust func(modeCommand)) int {
	o := newMode(mode)
	p := &textPresenter{s: s, mode: result.Mode(mode)}
	b := o.bindings()
	b["json"] = &p.json
	_, set, err := config.ParseArgs(ctx, mode, args, getenv, b, s.out)
	if err == nil {
		err = o.environment(getenv, set)
	}
	if err != nil {
		return conclude[*result.Result](p, nil, usageError(err))
	}
	if adjust != nil {
		adjust(o)
	}
	return runMode(ctx, o, p, s, getenv)
}

// runMode runs a mode whose options are read and hands the result to p:
// the one path behind the CLI, the Action and the demo.
func runMode(ctx context.Context, o modeCommand, p presenter[*result.Result], s stdio, getenv func(string) string) int {
	prog := newProgress(s.err, getenv)
	res, err := o.run(ctx, prog)
	prog.done()
	return conclude(p, res, err)
}

// bindPolicy binds the options that select instances and secrets.
func bindPolicy(b config.Bindings, instancesFile *string, pol *plan.Policy) config.Bindings {
	b["instances-file"] = instancesFile
	b["instances"] = &pol.Only
	b["required-secrets"] = &pol.Required
	b["exclude-secrets"] = &pol.Exclude
	return b
}

// bindBucket binds the options that reach the bucket (the SSE options
// only where the command uploads).
func bindBucket(b config.Bindings, c *bucket.Config, uploads bool) config.Bindings {
	b["s3-bucket"] = &c.Bucket
	b["aws-region"] = &c.Region
	b["aws-access-key-id"] = &c.AccessKeyID
	b["aws-secret-access-key"] = &c.SecretAccessKey
	b["aws-session-token"] = &c.SessionToken
	b["s3-endpoint"] = &c.Endpoint
	b["expected-bucket-owner"] = &c.ExpectedBucketOwner
	if uploads {
		b["sse"] = &c.SSE
		b["sse-kms-key-id"] = &c.SSEKMSKeyID
	}
	return b
}

// textPresenter writes lines for people on stderr and, with --json, one
// JSON document on stdout.
type textPresenter struct {
	s    stdio
	json bool
	mode result.Mode
}

func (p *textPresenter) usage(err error) {
	report.Error(p.s.err, err)
	if p.json {
		report.JSON(p.s.out, &result.Result{Mode: p.mode, Failure: err})
	}
}

func (p *textPresenter) present(res *result.Result) {
	report.Text(p.s.err, res)
	if err := res.Err(); err != nil {
		report.Error(p.s.err, err)
	}
	if p.json {
		report.JSON(p.s.out, res)
		return
	}
	// plan's answer is its list: one name a line on stdout, for scripts.
	for _, pl := range res.Planned {
		io.WriteString(p.s.out, report.Clean(pl.Instance)+"\n")
	}
}
