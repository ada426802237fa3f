package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/sethvargo/go-githubactions"

	"github.com/openclaw/clawdinator-bundle/internal/config"
	"github.com/openclaw/clawdinator-bundle/internal/problem"
	"github.com/openclaw/clawdinator-bundle/internal/report"
	"github.com/openclaw/clawdinator-bundle/internal/result"
)

// runAction runs as a GitHub Docker action: options from INPUT_*, workflow
// commands on stdout, outputs and the step summary through their files.
func runAction(ctx context.Context, s stdio, getenv func(string) string) int {
	a := githubactions.New(githubactions.WithGetenv(getenv), githubactions.WithWriter(s.out))

	// Mask before anything else can print: the raw inputs, not only what
	// parses, so even a malformed key never shows in a log.
	// expected-recipient is public, unless someone pasted the identity
	// there: then it is masked like the key.
	for _, name := range []string{"INPUT_AGE-KEY", "INPUT_AWS-SECRET-ACCESS-KEY", "INPUT_AWS-SESSION-TOKEN", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "CLAWDINATOR_AGE_KEY", "INPUT_EXPECTED-RECIPIENT"} {
		if name == "INPUT_EXPECTED-RECIPIENT" && !strings.Contains(strings.ToUpper(getenv(name)), "AGE-") {
			continue
		}
		for _, line := range strings.Split(strings.ReplaceAll(getenv(name), "\r", ""), "\n") {
			if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
				a.AddMask(line)
			}
		}
	}

	p := &actionPresenter{a: a, s: s, getenv: getenv}
	mode, err := config.Mode(getenv)
	if err != nil {
		return conclude[*result.Result](p, nil, err)
	}
	o := newMode(mode)
	set, err := config.ReadInputs(mode, getenv, o.bindings())
	if err == nil {
		err = o.environment(getenv, set)
	}
	if err != nil {
		return conclude[*result.Result](p, nil, err)
	}
	return runMode(ctx, o, p, s, getenv)
}

// actionPresenter reports in a GitHub Actions log: object lines on stderr,
// each problem as an annotation (file= only for a file in the repository),
// the outputs and the step summary.
type actionPresenter struct {
	a      *githubactions.Action
	s      stdio
	getenv func(string) string
}

func (p *actionPresenter) usage(err error) {
	p.a.Errorf("%s", report.Clean(err.Error()))
	summary(p.a, p.getenv, fmt.Sprintf("### ❌ clawdinator-bundle\n\n**Bad configuration:** %s\n", report.Markdown(err.Error())))
}

func (p *actionPresenter) present(res *result.Result) {
	report.Text(p.s.err, &result.Result{Mode: res.Mode, Instances: res.Instances, Planned: res.Planned})
	for _, pr := range res.Problems {
		fields := map[string]string{"title": report.Clean(title(pr))}
		if pr.File != "" {
			fields["file"] = report.Clean(pr.File)
		}
		if pr.Severity == problem.Warning {
			p.a.WithFieldsMap(fields).Warningf("%s", report.Clean(pr.String()))
		} else {
			p.a.WithFieldsMap(fields).Errorf("%s", report.Clean(pr.String()))
		}
	}
	if err := res.Err(); err != nil {
		p.a.Errorf("could not complete: %s", report.Clean(err.Error()))
	}
	if p.getenv("GITHUB_OUTPUT") != "" {
		for _, o := range report.Outputs(res) {
			p.a.SetOutput(o.Name, o.Value)
		}
	}
	summary(p.a, p.getenv, report.Summary(res))
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
