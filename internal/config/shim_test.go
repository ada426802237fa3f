package config

import (
	"context"
	"io"
	"slices"
	"strings"

	"github.com/openclaw/clawdinator-bundle/internal/problem"
)

// Config is every option flattened into one struct, as a command's own
// options struct would bind them, so that the tests of reading options
// read as one table. (Commands bind their own structs: cmd/.)
type Config struct {
	Mode              string
	AgeKey            []byte
	SecretsDir        string
	SecretsDirSet     bool
	RepoSeedsDir      string
	InstancesFile     string
	Instances         []string
	Required          []string
	Exclude           []string
	SeedsAllowKeys    []string
	Bucket            string
	Region            string
	AccessKeyID       string
	SecretAccessKey   string
	SessionToken      string
	Endpoint          string
	ExpectedRecipient string
	SSE               string
	SSEKMSKeyID       string
	ExpectedOwner     string
	DeepVerify        bool
	OutputDir         string
	Dir               string
	JSON              bool
}

type UsageError = problem.UsageError

// bind binds the options of mode to c's fields.
func (c *Config) bind(mode string) Bindings {
	all := Bindings{
		"age-key": &c.AgeKey, "secrets-dir": &c.SecretsDir, "repo-seeds-dir": &c.RepoSeedsDir,
		"instances-file": &c.InstancesFile, "instances": &c.Instances, "required-secrets": &c.Required,
		"exclude-secrets": &c.Exclude, "repo-seeds-allow-keys": &c.SeedsAllowKeys, "s3-bucket": &c.Bucket,
		"aws-region": &c.Region, "aws-access-key-id": &c.AccessKeyID, "aws-secret-access-key": &c.SecretAccessKey,
		"aws-session-token": &c.SessionToken, "s3-endpoint": &c.Endpoint, "expected-recipient": &c.ExpectedRecipient,
		"sse": &c.SSE, "sse-kms-key-id": &c.SSEKMSKeyID, "expected-bucket-owner": &c.ExpectedOwner,
		"deep-verify": &c.DeepVerify, "output-dir": &c.OutputDir, "dir": &c.Dir, "json": &c.JSON,
	}
	b := Bindings{}
	for name, p := range all {
		if o, ok := Lookup(name); ok && o.AppliesTo(mode) {
			b[name] = p
		}
	}
	return b
}

func FromArgs(mode string, args []string, getenv func(string) string, usage io.Writer) (*Config, error) {
	return FromArgsContext(context.Background(), mode, args, getenv, usage)
}

// FromArgsContext reads mode's options into a Config. verify requires a pin
// (TestVerifyRequiresAPin): where a test gives none, it passes
// --expected-recipient none, so that the other options are what it tests.
func FromArgsContext(ctx context.Context, mode string, args []string, getenv func(string) string, usage io.Writer) (*Config, error) {
	if mode == Verify && !slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--expected-recipient") }) {
		args = append([]string{"--expected-recipient", None}, args...)
	}
	c := &Config{Mode: mode}
	_, set, err := ParseArgs(ctx, mode, args, getenv, c.bind(mode), usage)
	if err != nil {
		return nil, err
	}
	c.SecretsDirSet = set["secrets-dir"]
	return c, nil
}

// FromInputs reads the Action's inputs into a Config; in verify, as
// FromArgsContext, an unset pin is none.
func FromInputs(getenv func(string) string) (*Config, error) {
	if strings.TrimSpace(getenv("INPUT_MODE")) == Verify && getenv("INPUT_EXPECTED-RECIPIENT") == "" {
		inner := getenv
		getenv = func(k string) string {
			if k == "INPUT_EXPECTED-RECIPIENT" {
				return None
			}
			return inner(k)
		}
	}
	mode, err := Mode(getenv)
	if err != nil {
		return nil, err
	}
	c := &Config{Mode: mode}
	set, err := ReadInputs(mode, getenv, c.bind(mode))
	if err != nil {
		return nil, err
	}
	c.SecretsDirSet = set["secrets-dir"]
	return c, nil
}
