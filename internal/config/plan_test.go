package config

import (
	"strings"
	"testing"
)

// plan needs no key, no bucket and no secrets dir, through the CLI and the
// Action alike. (That it reads no SOURCE_DATE_EPOCH: cmd/'s plan tests.)
func TestPlanNeedsNothingButTheInstancesFile(t *testing.T) {
	e := map[string]string{"SOURCE_DATE_EPOCH": "yesterday", "INPUT_MODE": Plan, "INPUT_INSTANCES": "a, b", "INPUT_INSTANCES-FILE": "fleet.json"}
	c, err := FromArgs(Plan, []string{"--instances", "a,b", "--instances-file", "fleet.json"}, env(e), &strings.Builder{})
	if err != nil {
		t.Fatalf("CLI: %v", err)
	}
	if c.Mode != Plan || c.InstancesFile != "fleet.json" || strings.Join(c.Instances, "|") != "a|b" || len(c.AgeKey) != 0 || c.SecretsDir != "" {
		t.Errorf("CLI: %+v", c)
	}
	c, err = FromInputs(env(e))
	if err != nil {
		t.Fatalf("Action: %v", err)
	}
	if c.Mode != Plan || c.InstancesFile != "fleet.json" || strings.Join(c.Instances, "|") != "a|b" || c.SecretsDir != "" {
		t.Errorf("Action: %+v", c)
	}
}

// The CLI's plan offers no flag that would suggest it reads a bundle, a
// bucket or the secrets.
func TestPlanFlags(t *testing.T) {
	for _, a := range []string{"--secrets-dir=s", "--age-key-file=k", "--s3-bucket=b", "--expected-recipient=age1x", "--deep-verify", "--out=o"} {
		_, err := FromArgs(Plan, []string{a}, env(nil), &strings.Builder{})
		if _, ok := err.(*UsageError); !ok || !strings.Contains(err.Error(), "flag provided but not defined") {
			t.Errorf("plan %s: %v", a, err)
		}
	}
}
