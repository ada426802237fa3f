// Package plan decides which files each fleet instance receives.
//
// The inputs are the instance list (instances.json), the secrets directory
// and a Policy (required secrets, excluded globs, an optional instance
// filter). The result is one file set per instance: every common *.age file,
// minus every instance's discord token but its own, minus excluded files.
// Planning reads directory entries only; it decrypts nothing (see the gate in
// package publish) and never follows symlinks.
package plan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/openclaw/clawdinator-bundle/internal/problem"
)

// TokenPattern matches every per-instance discord token file. An instance
// receives only the one its entry names.
const TokenPattern = "clawdinator-discord-token-*.age"

// DefaultRequired lists the secrets every instance must receive (docs/bundle.md).
var DefaultRequired = []string{
	"clawdinator-github-app.pem.age",
	"clawdinator-anthropic-api-key.age",
	"clawdinator-openai-api-key-peter-2.age",
	"clawdinator-control-token.age",
	"clawdinator-control-aws-access-key-id.age",
	"clawdinator-control-aws-secret-access-key.age",
	"clawdinator-telegram-bot-token.age",
	"clawdinator-telegram-allow-from.age",
}

// DefaultExclude lists globs never shipped to hosts: the CI image pipeline's
// own secrets.
var DefaultExclude = []string{"clawdinator-image-*.age"}

// Instance is one fleet host as instances.json describes it.
type Instance struct {
	Name string `json:"name"`
	// BootstrapPrefix is the S3 prefix (no leading or trailing slash) under
	// which the host finds its bundle.
	BootstrapPrefix string `json:"bootstrapPrefix"`
	// DiscordTokenSecret is the token's secret name, without ".age".
	DiscordTokenSecret string `json:"discordTokenSecret"`
}

// TokenFile returns the file name of the instance's own discord token.
func (in Instance) TokenFile() string { return AgeName(in.DiscordTokenSecret) }

// AgeName appends ".age" to name unless it already ends so.
func AgeName(name string) string {
	if strings.HasSuffix(name, ".age") {
		return name
	}
	return name + ".age"
}

// ParseInstances reads the instances.json format: an object keyed by instance
// name whose values carry bootstrapPrefix (default "bootstrap/<name>") and
// discordTokenSecret; unknown keys are tolerated. source names the file in
// problems. Instances are returned sorted by name.
func ParseInstances(data []byte, source string) ([]Instance, problem.List) {
	var probs problem.List
	bad := func(instance, format string, args ...any) {
		probs.Add(problem.Problem{Instance: instance, File: source, Message: fmt.Sprintf(format, args...)})
	}
	if len(bytes.TrimSpace(data)) == 0 {
		bad("", "instances file is empty: expected a JSON object keyed by instance name")
		return nil, probs
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		bad("", "invalid JSON: %v", jsonErr(err))
		return nil, probs
	}
	if len(raw) == 0 {
		bad("", "no instances: expected a JSON object keyed by instance name")
		return nil, probs
	}
	names := make([]string, 0, len(raw))
	for name := range raw {
		names = append(names, name)
	}
	sort.Strings(names)

	var out []Instance
	tokens := map[string]string{}
	prefixes := map[string]string{}
	for _, name := range names {
		var e struct {
			BootstrapPrefix    *string `json:"bootstrapPrefix"`
			DiscordTokenSecret *string `json:"discordTokenSecret"`
		}
		if err := json.Unmarshal(raw[name], &e); err != nil {
			bad(name, "entry is not an object with string fields: %v", jsonErr(err))
			continue
		}
		if !validName(name) {
			bad(name, "instance name must be letters, digits, '-', '_' or '.'")
			continue
		}
		in := Instance{Name: name, BootstrapPrefix: "bootstrap/" + name}
		if e.BootstrapPrefix != nil {
			// All trailing slashes: "p//" and "p" are one S3 prefix.
			in.BootstrapPrefix = strings.TrimRight(*e.BootstrapPrefix, "/")
		}
		if msg := checkPrefix(in.BootstrapPrefix); msg != "" {
			bad(name, "bootstrapPrefix %q %s", in.BootstrapPrefix, msg)
			continue
		}
		if e.DiscordTokenSecret == nil || strings.TrimSpace(*e.DiscordTokenSecret) == "" {
			bad(name, "discordTokenSecret is missing: every instance needs its own discord token")
			continue
		}
		in.DiscordTokenSecret = strings.TrimSuffix(*e.DiscordTokenSecret, ".age")
		if strings.ContainsAny(in.DiscordTokenSecret, `/\`) || in.DiscordTokenSecret == "" || strings.HasPrefix(in.DiscordTokenSecret, ".") {
			bad(name, "discordTokenSecret %q must be a plain file name", *e.DiscordTokenSecret)
			continue
		}
		if other, dup := tokens[in.DiscordTokenSecret]; dup {
			bad(name, "discordTokenSecret %q is also used by instance %s: each instance needs its own token", in.DiscordTokenSecret, other)
			continue
		}
		if other, dup := prefixes[in.BootstrapPrefix]; dup {
			bad(name, "bootstrapPrefix %q is also used by instance %s", in.BootstrapPrefix, other)
			continue
		}
		tokens[in.DiscordTokenSecret] = name
		prefixes[in.BootstrapPrefix] = name
		out = append(out, in)
	}
	return out, probs
}

// LoadInstances reads and parses the instances file at path.
func LoadInstances(file string) ([]Instance, problem.List) {
	data, err := os.ReadFile(file)
	if err != nil {
		var probs problem.List
		probs.Add(problem.Problem{File: file, Message: "cannot read instances file: " + pathErr(err)})
		return nil, probs
	}
	return ParseInstances(data, file)
}

func jsonErr(err error) string {
	if se, ok := err.(*json.SyntaxError); ok {
		return fmt.Sprintf("%v (at byte %d)", se, se.Offset)
	}
	return err.Error()
}

func pathErr(err error) string {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err.Error()
	}
	return err.Error()
}

func validName(s string) bool {
	if s == "" || s == "." || s == ".." {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// checkPrefix returns why p is not a safe relative S3 prefix, or "".
func checkPrefix(p string) string {
	switch {
	case p == "":
		return "is empty"
	case strings.HasPrefix(p, "/"):
		return "is absolute: it must be relative to the bucket, like bootstrap/<name>"
	case strings.Contains(p, `\`):
		return "contains a backslash"
	case strings.Contains(p, "//"):
		return "contains an empty path segment"
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == ".." || seg == "." {
			return "contains '" + seg + "': it must not leave or alias its place in the bucket"
		}
	}
	return ""
}

// Policy says which secrets must, may and must not ship.
type Policy struct {
	// Required names secrets every instance must receive (".age" optional).
	Required []string
	// Exclude holds globs (path.Match syntax) of files never shipped.
	Exclude []string
	// Only restricts the run to these instance names; empty means all.
	Only []string
}

// Secret is one file planned for an instance.
type Secret struct {
	// Name is the file name, as it appears under secrets/ in the bundle.
	Name string
	// Path is where it is on disk.
	Path string
}

// InstancePlan is what one instance receives.
type InstancePlan struct {
	Instance
	// Secrets is sorted by name.
	Secrets []Secret
}

// Plan is the per-instance file sets for one run.
type Plan struct {
	SecretsDir string
	Instances  []InstancePlan
}

// Files returns every distinct secret of the plan, sorted by name.
func (p *Plan) Files() []Secret {
	seen := map[string]bool{}
	var out []Secret
	for _, ip := range p.Instances {
		for _, s := range ip.Secrets {
			if !seen[s.Name] {
				seen[s.Name] = true
				out = append(out, s)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Build plans every selected instance. Problems name the offending file or
// instance; warnings (excluded files) are included in the returned list with
// Warning severity. The plan is returned even when error-severity problems
// occurred, holding what could be planned, so that the caller can still
// check those files and report every problem in one run; it must not ship.
// It is nil only when the secrets directory cannot be read.
func Build(instances []Instance, secretsDir string, pol Policy) (*Plan, problem.List) {
	var probs problem.List
	entries, err := os.ReadDir(secretsDir)
	if err != nil {
		probs.Add(problem.Problem{File: secretsDir, Message: "cannot read secrets directory: " + pathErr(err)})
		return nil, probs
	}

	selected, fprobs := filter(instances, pol.Only)
	probs = append(probs, fprobs...)

	ownTokens := map[string]bool{} // every instance's token, selected or not
	for _, in := range instances {
		ownTokens[in.TokenFile()] = true
	}

	var common []Secret
	present := map[string]bool{}
	for _, e := range entries {
		name := e.Name()
		rel := filepath.Join(secretsDir, name)
		switch t := e.Type(); {
		case t&os.ModeSymlink != 0:
			probs.Errorf("", rel, "is a symlink: the secrets directory must hold regular *.age files only")
			continue
		case t.IsDir():
			probs.Errorf("", rel, "is a directory: the secrets directory must hold regular *.age files only")
			continue
		case !t.IsRegular():
			probs.Errorf("", rel, "is not a regular file")
			continue
		}
		if !strings.HasSuffix(name, ".age") {
			probs.Errorf("", rel, "is not an .age file: only age-encrypted files may sit beside host secrets (plaintext never ships)")
			continue
		}
		if excluded(name, pol.Exclude) {
			if !ownTokens[name] {
				probs.Warn(problem.Problem{File: rel, Message: "excluded by exclude-secrets: not shipped to hosts"})
				continue
			}
		}
		present[name] = true
		if ownTokens[name] || matchGlob(TokenPattern, name) {
			continue // per-instance: added below to its owner only
		}
		common = append(common, Secret{Name: name, Path: rel})
	}

	for _, r := range pol.Required {
		name := AgeName(strings.TrimSpace(r))
		if name == ".age" {
			continue
		}
		switch {
		case !present[name] && excluded(name, pol.Exclude) && fileExists(filepath.Join(secretsDir, name)):
			probs.Errorf("", filepath.Join(secretsDir, name), "required secret is excluded by exclude-secrets: remove it from one of the two lists")
		case !present[name]:
			probs.Errorf("", filepath.Join(secretsDir, name), "required secret is missing from %s", secretsDir)
		}
		for _, in := range instances {
			if in.TokenFile() == name {
				probs.Errorf(in.Name, filepath.Join(secretsDir, name), "is both a required secret and the discordTokenSecret of instance %s: a token goes to its own instance only, so the others would miss it", in.Name)
			}
		}
	}

	p := &Plan{SecretsDir: secretsDir}
	for _, in := range selected {
		tf := in.TokenFile()
		if !present[tf] {
			probs.Errorf(in.Name, filepath.Join(secretsDir, tf), "discord token of instance %s is missing (discordTokenSecret %q)", in.Name, in.DiscordTokenSecret)
			continue
		}
		ip := InstancePlan{Instance: in}
		ip.Secrets = append(append(ip.Secrets, common...), Secret{Name: tf, Path: filepath.Join(secretsDir, tf)})
		sort.Slice(ip.Secrets, func(i, j int) bool { return ip.Secrets[i].Name < ip.Secrets[j].Name })
		p.Instances = append(p.Instances, ip)
	}
	return p, probs
}

func filter(instances []Instance, only []string) ([]Instance, problem.List) {
	var probs problem.List
	if len(only) == 0 {
		return instances, nil
	}
	byName := map[string]Instance{}
	for _, in := range instances {
		byName[in.Name] = in
	}
	want := map[string]bool{}
	for _, n := range only {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		if _, ok := byName[n]; !ok {
			probs.Add(problem.Problem{Instance: n, Message: "not in the instances file"})
			continue
		}
		want[n] = true
	}
	var out []Instance
	for _, in := range instances {
		if want[in.Name] {
			out = append(out, in)
		}
	}
	return out, probs
}

func excluded(name string, globs []string) bool {
	for _, g := range globs {
		if g = strings.TrimSpace(g); g != "" && matchGlob(g, name) {
			return true
		}
	}
	return false
}

func matchGlob(pattern, name string) bool {
	ok, err := path.Match(pattern, name)
	return err == nil && ok
}

// ValidateGlobs reports the first malformed glob, for input checking.
func ValidateGlobs(globs []string) error {
	for _, g := range globs {
		if _, err := path.Match(strings.TrimSpace(g), ""); err != nil {
			return fmt.Errorf("bad glob %q: %w", g, err)
		}
	}
	return nil
}

func fileExists(p string) bool {
	st, err := os.Lstat(p)
	return err == nil && st.Mode().IsRegular()
}
