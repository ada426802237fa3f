package main

import (
	"context"

	"github.com/openclaw/clawdinator-bundle/internal/config"
	"github.com/openclaw/clawdinator-bundle/internal/plan"
	"github.com/openclaw/clawdinator-bundle/internal/result"
)

var planCommand = command{
	name:    "plan",
	summary: "list the selected instances (instances file only), for a matrix",
	run: func(ctx context.Context, args []string, s stdio, getenv func(string) string) int {
		return runCLI(ctx, config.Plan, args, s, getenv, nil)
	},
}

// planOptions are plan's options: the instances file and what selects in
// it; nothing else is read.
type planOptions struct {
	instancesFile string
	policy        plan.Policy
}

func (o *planOptions) bindings() config.Bindings {
	return bindPolicy(config.Bindings{}, &o.instancesFile, &o.policy)
}

func (o *planOptions) environment(func(string) string, config.Set) error { return nil }

// run lists the selected instances, or none when the instances file or
// the selection is wrong.
func (o *planOptions) run(context.Context, *progress) (*result.Result, error) {
	instances, iprobs := plan.LoadInstances(o.instancesFile)
	res := &result.Result{Mode: result.Plan, Problems: iprobs}
	if iprobs.HasErrors() {
		return res, nil
	}
	selected, probs := plan.Select(instances, o.instancesFile, o.policy)
	res.Problems = append(res.Problems, probs...)
	if probs.HasErrors() {
		// A plan that is wrong is not fanned out.
		return res, nil
	}
	for _, in := range selected {
		res.Planned = append(res.Planned, result.Planned{Instance: in.Name, Prefix: in.BootstrapPrefix, DiscordTokenSecret: in.DiscordTokenSecret})
	}
	return res, nil
}
