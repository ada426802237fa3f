package main

import (
	"context"

	"github.com/openclaw/clawdinator-bundle/internal/config"
)

var planCommand = command{
	name:    "plan",
	summary: "list the selected instances (instances file only), for a matrix",
	run: func(ctx context.Context, args []string, s stdio, getenv func(string) string) int {
		return runCLI(ctx, config.Plan, args, s, getenv)
	},
}
