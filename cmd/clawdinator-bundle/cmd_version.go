package main

import (
	"context"
	"fmt"

	"github.com/openclaw/clawdinator-bundle/internal/config"
	"github.com/openclaw/clawdinator-bundle/internal/report"
)

var versionCommand = command{
	name:    "version",
	summary: "print the version",
	run: func(ctx context.Context, args []string, s stdio, getenv func(string) string) int {
		_, _, err := config.ParseArgs(ctx, config.Version, args, getenv, config.Bindings{}, s.out)
		return conclude[versionResult](&versionPresenter{s}, versionResult{}, err)
	},
}

// versionResult is version's result: it always completes.
type versionResult struct{}

func (versionResult) OK() bool   { return true }
func (versionResult) Err() error { return nil }

type versionPresenter struct{ s stdio }

func (p *versionPresenter) usage(err error) { report.Error(p.s.err, err) }
func (p *versionPresenter) present(versionResult) {
	fmt.Fprintf(p.s.out, "clawdinator-bundle %s\n", version)
}
