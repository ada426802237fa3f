package main

import (
	"context"

	"github.com/openclaw/clawdinator-bundle/internal/config"
)

var assembleCommand = command{
	name:    "assemble",
	summary: "build the bundles on local disk (--out DIR), no network",
	run: func(ctx context.Context, args []string, s stdio, getenv func(string) string) int {
		return runCLI(ctx, config.Assemble, args, s, getenv)
	},
}
