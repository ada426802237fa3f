package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/sethvargo/go-githubactions"

	"github.com/openclaw/clawdinator-bundle/internal/config"
	"github.com/openclaw/clawdinator-bundle/internal/problem"
	"github.com/openclaw/clawdinator-bundle/internal/publish"
	"github.com/openclaw/clawdinator-bundle/internal/report"
)

// runAction runs as a GitHub Docker action: options from INPUT_*, workflow
// commands on stdout, outputs and the step summary through their files.
func runAction(ctx context.Context, s stdio, getenv func(string) string) int {
	a := githubactions.New(githubactions.WithGetenv(getenv), githubactions.WithWriter(s.out))

	// Mask before anything else can print: the raw inputs, not only what
	// parses, so even a malformed key never shows in a log.
	for _, name := range []string{"INPUT_AGE-KEY", "INPUT_AWS-SECRET-ACCESS-KEY", "INPUT_AWS-SESSION-TOKEN", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "CLAWDINATOR_AGE_KEY"} {
		for _, line := range strings.Split(strings.ReplaceAll(getenv(name), "\r", ""), "\n") {
			if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
				a.AddMask(line)
			}
		}
	}

	cfg, err := config.FromInputs(getenv)
	if err != nil {
		a.Errorf("%s", err)
		summary(a, getenv, fmt.Sprintf("### ❌ clawdinator-bundle\n\n**Bad configuration:** %s\n", err))
		return exitUsage
	}
	prog := newProgress(s.err, getenv)
	res, err := execute(ctx, cfg, getenv, prog)
	prog.done()
	if res == nil {
		res = &publish.Result{Mode: cfg.Mode}
	}
	report.Text(s.err, &publish.Result{Mode: res.Mode, Instances: res.Instances})
	for _, p := range res.Problems {
		fields := map[string]string{"title": title(p)}
		// file= points GitHub at a file in the repository; an input (the
		// age key) is named in the message, not as a file.
		if p.File != "" {
			fields["file"] = p.File
		}
		if p.Severity == problem.Warning {
			a.WithFieldsMap(fields).Warningf("%s", p.String())
		} else {
			a.WithFieldsMap(fields).Errorf("%s", p.String())
		}
	}
	if err != nil {
		a.Errorf("could not complete: %s", err)
	}
	if getenv("GITHUB_OUTPUT") != "" {
		a.SetOutput("manifest", report.ManifestOutput(res))
		a.SetOutput("recipient", res.Recipient)
	}
	summary(a, getenv, report.Summary(res, err))
	return exitCode(res, err)
}

func summary(a *githubactions.Action, getenv func(string) string, md string) {
	if getenv("GITHUB_STEP_SUMMARY") != "" {
		a.AddStepSummary(md)
	}
}

func title(p problem.Problem) string {
	if p.Instance != "" {
		return "clawdinator-bundle: " + p.Instance
	}
	return "clawdinator-bundle"
}
