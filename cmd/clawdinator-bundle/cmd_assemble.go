package main

import (
	"context"

	"github.com/openclaw/clawdinator-bundle/internal/bucket"
	"github.com/openclaw/clawdinator-bundle/internal/config"
	"github.com/openclaw/clawdinator-bundle/internal/plan"
	"github.com/openclaw/clawdinator-bundle/internal/publish"
	"github.com/openclaw/clawdinator-bundle/internal/result"
)

var assembleCommand = command{
	name:    "assemble",
	summary: "build the bundles on local disk (--out DIR), no network",
	run: func(ctx context.Context, args []string, s stdio, getenv func(string) string) int {
		return runCLI(ctx, config.Assemble, args, s, getenv, nil)
	},
}

// assembleOptions are assemble's options: publish's, with a directory
// (--out) in place of the bucket, or none.
//
//	plan ─▶ gate ─▶ assemble ─▶ (write to a directory ─▶ pull back ─▶ verify)
type assembleOptions struct {
	buildOptions
	outputDir string
}

func (o *assembleOptions) bindings() config.Bindings {
	b := o.bind()
	b["output-dir"] = &o.outputDir
	return b
}

func (o *assembleOptions) run(ctx context.Context, prog *progress) (*result.Result, error) {
	o.gate.Instances, o.gate.InstancesProblems = plan.LoadInstances(o.instancesFile)
	if o.outputDir != "" {
		// Refused before anything is built: a symlink on the way would
		// lead the key elsewhere (bucket.Dir refuses them too, write by
		// write).
		if probs := publish.SymlinksUnder(o.outputDir, o.gate.Instances); len(probs) > 0 {
			return &result.Result{Mode: result.Assemble, Problems: probs}, nil
		}
		o.publish.Bucket, o.publish.Wrote = bucket.Dir(o.outputDir), result.Written
	}
	return build(ctx, result.Assemble, &o.gate, o.publish, prog), nil
}
