package main

import (
	"context"
	"fmt"
)

var versionCommand = command{
	name:    "version",
	summary: "print the version",
	run: func(ctx context.Context, args []string, s stdio, getenv func(string) string) int {
		fmt.Fprintf(s.out, "clawdinator-bundle %s\n", version)
		return exitOK
	},
}
