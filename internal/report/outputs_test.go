package report_test

import (
	"strings"
	"testing"

	"github.com/openclaw/clawdinator-bundle/internal/config"
	"github.com/openclaw/clawdinator-bundle/internal/manifest"
	"github.com/openclaw/clawdinator-bundle/internal/report"
	"github.com/openclaw/clawdinator-bundle/internal/result"
)

// Every output action.yml declares is set, and nothing else: a workflow
// that reads one gets a value, never an empty string by omission.
func TestOutputsAreTheTable(t *testing.T) {
	got := report.Outputs(&result.Result{Mode: result.Verify})
	if len(got) != len(config.Outputs) {
		t.Fatalf("%d outputs set, action.yml declares %d", len(got), len(config.Outputs))
	}
	for i, o := range config.Outputs {
		if got[i].Name != o.Name {
			t.Errorf("output %d is %q, action.yml declares %q", i, got[i].Name, o.Name)
		}
	}
}

func outputs(r *result.Result) map[string]string {
	m := map[string]string{}
	for _, o := range report.Outputs(r) {
		m[o.Name] = o.Value
	}
	return m
}

func TestOutputValues(t *testing.T) {
	obj := func(s result.Status) []result.Object {
		return []result.Object{{Object: manifest.Object{Name: "repo-seeds.tar.zst"}, Status: result.Unchanged}, {Object: manifest.Object{Name: "secrets.tar.zst"}, Status: s}}
	}
	for _, tc := range []struct {
		name                            string
		r                               *result.Result
		uploaded, proven, names, matrix string
	}{
		{"nothing ran", &result.Result{Mode: result.Publish},
			"false", "0", `[]`, `{"instance":[]}`},
		{"one uploaded, one unchanged", &result.Result{Mode: result.Publish, Instances: []result.Instance{
			{Instance: "a", Objects: obj(result.Unchanged), Verified: true},
			{Instance: "b", Objects: obj(result.Uploaded), Verified: true}}},
			"true", "2", `["a","b"]`, `{"instance":["a","b"]}`},
		// Rolled back or failed: nothing of this run is left for hosts.
		{"rolled back and failed", &result.Result{Mode: result.Publish, Instances: []result.Instance{
			{Instance: "a", Objects: obj(result.RolledBack)},
			{Instance: "b", Objects: obj(result.Failed)},
			{Instance: "c", Objects: obj(result.Unchanged), Verified: true}}},
			"false", "1", `["a","b","c"]`, `{"instance":["a","b","c"]}`},
		{"assemble --out writes, uploads nothing", &result.Result{Mode: result.Assemble, Instances: []result.Instance{
			{Instance: "a", Objects: obj(result.Written), Verified: true}}},
			"false", "1", `["a"]`, `{"instance":["a"]}`},
		{"verify", &result.Result{Mode: result.Verify, Instances: []result.Instance{
			{Instance: "a", Objects: obj(result.Checked), Verified: true}, {Instance: "b", Objects: obj(result.Checked)}}},
			"false", "1", `["a","b"]`, `{"instance":["a","b"]}`},
		{"plan", &result.Result{Mode: result.Plan, Planned: []result.Planned{{Instance: "a"}, {Instance: "b-2.x_y"}}},
			"false", "0", `["a","b-2.x_y"]`, `{"instance":["a","b-2.x_y"]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := outputs(tc.r)
			if o["uploaded"] != tc.uploaded || o["instances-proven"] != tc.proven || o["instances"] != tc.names || o["matrix"] != tc.matrix {
				t.Errorf("uploaded %q instances-proven %q instances %q matrix %q; want %q %q %q %q",
					o["uploaded"], o["instances-proven"], o["instances"], o["matrix"], tc.uploaded, tc.proven, tc.names, tc.matrix)
			}
		})
	}
}

// A plan is shown as one line per instance and a table row per instance;
// a prefix holding a cell separator stays in its cell.
func TestPlanTextAndSummary(t *testing.T) {
	r := &result.Result{Mode: result.Plan, Planned: []result.Planned{
		{Instance: "a", Prefix: "bootstrap/a", DiscordTokenSecret: "tok-a"},
		{Instance: "b", Prefix: "odd|prefix", DiscordTokenSecret: "tok-b"},
	}}
	var b strings.Builder
	report.Text(&b, r)
	if want := "clawdinator-bundle: a: planned, prefix bootstrap/a, token tok-a\nclawdinator-bundle: b: planned, prefix odd|prefix, token tok-b\n"; b.String() != want {
		t.Errorf("text:\n%s\nwant:\n%s", b.String(), want)
	}
	sum := report.Summary(r)
	for _, want := range []string{"### ✅ clawdinator-bundle plan\n", "| a | `bootstrap/a` | `tok-a` |\n", "| b | odd\\|prefix | `tok-b` |\n"} {
		if !strings.Contains(sum, want) {
			t.Errorf("summary lacks %q:\n%s", want, sum)
		}
	}
}
