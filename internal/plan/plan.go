// Package plan decides which files each fleet instance receives.
//
// The inputs are the instance list (instances.json), the secrets directory
// and a Policy (required secrets, excluded globs, an optional instance
// filter). The result is one file set per instance: every common *.age file,
// minus every instance's discord token but its own, minus excluded files.
// Planning reads directory entries only; it decrypts nothing (see the gate in
// package publish) and never follows symlinks.
//
// Select is the same selection without the secrets directory (plan mode,
// verify), and Forbidden the same rule applied to a bundle that was built:
// the names its archive must not hold.
package plan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

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
//
// Refused, each as a problem naming the instance (quoted when its text is
// not plain): a key given twice (encoding/json would silently keep the
// last), a name or prefix with leading or trailing whitespace or a control
// character, two tokens naming one file, and two prefixes where one equals
// the other or holds it at a "/" boundary (see sameToken and nestedPrefix).
func ParseInstances(data []byte, source string) ([]Instance, problem.List) {
	var probs problem.List
	bad := func(instance, format string, args ...any) {
		probs.Add(problem.Problem{Instance: subject(instance), File: source, Message: fmt.Sprintf(format, args...)})
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
	counts := map[string]int{}
	for _, k := range objectKeys(data) {
		counts[k]++
	}
	names := make([]string, 0, len(raw))
	for name := range raw {
		names = append(names, name)
	}
	sort.Strings(names)

	var out []Instance
	for _, name := range names {
		if n := counts[name]; n > 1 {
			bad(name, "instance is defined %d times in the instances file: JSON would silently keep the last; keep one entry per instance", n)
			continue
		}
		if msg := checkName(name); msg != "" {
			bad(name, "instance name %q %s", name, msg)
			continue
		}
		var e struct {
			BootstrapPrefix    *string `json:"bootstrapPrefix"`
			DiscordTokenSecret *string `json:"discordTokenSecret"`
		}
		if err := json.Unmarshal(raw[name], &e); err != nil {
			bad(name, "entry is not an object with string fields: %v", jsonErr(err))
			continue
		}
		if field, n := repeatedField(raw[name]); n > 1 {
			bad(name, "field %s is given %d times: JSON would silently keep the last; keep one", field, n)
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
		tok := *e.DiscordTokenSecret
		if msg := checkToken(tok); msg != "" {
			bad(name, "discordTokenSecret %q %s", tok, msg)
			continue
		}
		in.DiscordTokenSecret = strings.TrimSuffix(tok, ".age")
		if msg := clash(in, out); msg != "" {
			bad(name, "%s", msg)
			continue
		}
		out = append(out, in)
	}
	return out, probs
}

// clash returns why in may not join the instances already accepted, or "".
func clash(in Instance, accepted []Instance) string {
	for _, o := range accepted {
		if sameToken(in.TokenFile(), o.TokenFile()) {
			return fmt.Sprintf("discordTokenSecret %q is also used by instance %s (%q): both name the file %s, ignoring case; each instance needs its own token", in.DiscordTokenSecret, o.Name, o.DiscordTokenSecret, o.TokenFile())
		}
	}
	for _, o := range accepted {
		switch {
		case strings.EqualFold(in.BootstrapPrefix, o.BootstrapPrefix):
			return fmt.Sprintf("bootstrapPrefix %q is also used by instance %s (%q, ignoring case)", in.BootstrapPrefix, o.Name, o.BootstrapPrefix)
		case nestedPrefix(in.BootstrapPrefix, o.BootstrapPrefix):
			return fmt.Sprintf("bootstrapPrefix %q is nested under the prefix %q of instance %s: its objects would sit among that instance's objects (%s/manifest.json, say)", in.BootstrapPrefix, o.BootstrapPrefix, o.Name, o.BootstrapPrefix)
		case nestedPrefix(o.BootstrapPrefix, in.BootstrapPrefix):
			return fmt.Sprintf("bootstrapPrefix %q holds the prefix %q of instance %s: that instance's objects would sit among this one's (%s/manifest.json, say)", in.BootstrapPrefix, o.BootstrapPrefix, o.Name, in.BootstrapPrefix)
		}
	}
	return ""
}

// sameToken reports whether two token file names are one file. Names are
// compared ignoring case: hosts and CI may use case-insensitive file systems
// and tools (macOS, Windows runners), where "X.age" and "x.age" are one file,
// and refusing is safer than shipping a token twice. Spellings with or
// without ".age" ("x", "x.age") are already one name by AgeName, and path
// tricks ("./x", "a/../x") and doubled suffixes ("x.age.age") never get here:
// checkToken refuses them.
func sameToken(a, b string) bool { return strings.EqualFold(a, b) }

// nestedPrefix reports whether inner lies under outer at a "/" boundary
// ("p/x" under "p", not "px" under "p"), ignoring case like sameToken.
// Either prefix's objects would then be the other's "directories": "p" has
// the object p/manifest.json and "p/manifest.json" has
// p/manifest.json/manifest.json, and an assemble --out tree could not hold
// both.
func nestedPrefix(inner, outer string) bool {
	return len(inner) > len(outer) && inner[len(outer)] == '/' && strings.EqualFold(inner[:len(outer)], outer)
}

// checkToken returns why a discordTokenSecret value is not a plain token
// name, or "".
//
// "x" and "x.age" name the file x.age. A value ending in ".age" twice, in
// any case ("x.age.age", "x.AGE.age"), is refused, and so is ".age" in
// another case ("x.AGE"). Before this check the suffix was trimmed once and
// AgeName kept the rest, so "x.age.age" silently meant the file x.age and
// escaped the duplicate check against "x"; reading it as the file x.age.age
// instead would change what TokenFile means for every caller (verify,
// check). A doubled suffix is a slip either way: the operator says which.
func checkToken(tok string) string {
	for _, r := range tok {
		if unicode.IsSpace(r) || !strconv.IsPrint(r) {
			return fmt.Sprintf("holds whitespace or a control character (%U): it must be a plain file name", r)
		}
	}
	if strings.HasSuffix(strings.ToLower(tok), ".age") && !strings.HasSuffix(tok, ".age") {
		return "ends in a suffix like .age in another case: the suffix is .age, lowercase"
	}
	base := strings.TrimSuffix(tok, ".age")
	if base == "" || base == "." || base == ".." || strings.ContainsAny(base, `/\`) || strings.HasPrefix(base, ".") {
		return "must be a plain file name: no '/' or '\\', not '.' or '..', not starting with '.'"
	}
	if strings.HasSuffix(strings.ToLower(base), ".age") {
		return "ends in .age twice: name the token file once, as x or x.age"
	}
	return ""
}

// checkName returns why s is not an instance name, or "".
func checkName(s string) string {
	if s != strings.TrimSpace(s) {
		return "has leading or trailing whitespace"
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return fmt.Sprintf("holds a control character (%U)", r)
		}
	}
	if !validName(s) {
		return "must be letters, digits, '-', '_' or '.'"
	}
	return ""
}

// subject returns s for use as a problem's subject: as it is when it is
// plain text, quoted (strconv.Quote) when it holds anything a terminal or a
// GitHub annotation could misread: a control or other non-printing
// character, invalid UTF-8, or leading or trailing whitespace.
func subject(s string) string {
	if s != strings.TrimSpace(s) || !utf8.ValidString(s) {
		return strconv.Quote(s)
	}
	for _, r := range s {
		if !strconv.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}

// objectKeys returns the keys of the top-level JSON object in data, in
// order and with repeats, or nil when data is not an object. encoding/json
// keeps the last of repeated keys silently; this walk sees them all.
func objectKeys(data []byte) []string {
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil
	}
	var keys []string
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return keys
		}
		k, ok := t.(string)
		if !ok {
			return keys
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return keys
		}
		keys = append(keys, k)
	}
	return keys
}

// repeatedField returns a field of an instance entry that is given more
// than once and how often, or ("", 0). Fields match as encoding/json matches
// them to the struct, ignoring case.
func repeatedField(entry []byte) (string, int) {
	counts := map[string]int{}
	for _, k := range objectKeys(entry) {
		for _, f := range []string{"bootstrapPrefix", "discordTokenSecret"} {
			if strings.EqualFold(k, f) {
				counts[f]++
			}
		}
	}
	for _, f := range []string{"bootstrapPrefix", "discordTokenSecret"} {
		if counts[f] > 1 {
			return f, counts[f]
		}
	}
	return "", 0
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
	for _, r := range p {
		if !strconv.IsPrint(r) {
			return fmt.Sprintf("holds a control or non-printing character (%U)", r)
		}
	}
	if p != strings.TrimSpace(p) {
		return "has leading or trailing whitespace"
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
	folded := map[string]string{} // lower case name -> the first such file
	for _, e := range entries {
		name := e.Name()
		if msg := checkFileName(name); msg != "" {
			// The name is quoted and the subject is the directory: no raw
			// control character reaches a terminal or an annotation.
			probs.Errorf("", secretsDir, "file name %q %s: rename it", name, msg)
			continue
		}
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
		// Planned on as usual (the error blocks the run): the file is
		// there, and calling it missing would mislead.
		if other, dup := folded[strings.ToLower(name)]; dup {
			probs.Errorf("", rel, "differs from %s only in case: a case-insensitive file system or tool would take one for the other; rename one", other)
		} else {
			folded[strings.ToLower(name)] = name
		}
		if excluded(name, pol.Exclude) {
			// An instance's own token that is excluded is refused below.
			if !ownTokens[name] {
				probs.Warn(problem.Problem{File: rel, Message: "excluded by exclude-secrets: not shipped to hosts"})
			}
			continue
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

	// An excluded secret is CI-only (the image pipeline's, by default): an
	// instance whose token names one would ship it to a host. Every
	// instance, selected or not, like the required-secret check above: the
	// instances file is wrong either way.
	badToken := map[string]bool{}
	for _, in := range instances {
		if g := matchingGlob(in.TokenFile(), pol.Exclude); g != "" {
			badToken[in.Name] = true
			probs.Errorf(in.Name, filepath.Join(secretsDir, in.TokenFile()), "discordTokenSecret %q of instance %s matches exclude-secrets %q: excluded secrets are CI-only and never ship to a host; name the instance's own token or narrow the glob", in.DiscordTokenSecret, in.Name, g)
		}
	}

	p := &Plan{SecretsDir: secretsDir}
	for _, in := range selected {
		if badToken[in.Name] {
			continue
		}
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
			probs.Add(problem.Problem{Instance: subject(n), Message: "not in the instances file"})
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

func excluded(name string, globs []string) bool { return matchingGlob(name, globs) != "" }

// matchingGlob returns the first of globs that matches name, or "".
func matchingGlob(name string, globs []string) string {
	for _, g := range globs {
		if g = strings.TrimSpace(g); g != "" && matchGlob(g, name) {
			return g
		}
	}
	return ""
}

// checkFileName returns why a directory entry's name may not be printed or
// shipped as it is, or "".
func checkFileName(name string) string {
	if !utf8.ValidString(name) {
		return "is not valid UTF-8"
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return fmt.Sprintf("holds a control character (%U)", r)
		}
	}
	return ""
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
