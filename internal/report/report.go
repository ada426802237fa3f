// Package report renders a run's result for people and machines: text lines
// for a terminal, JSON for scripts, a Markdown step summary and the action's
// outputs. It formats; cmd/ decides where the bytes go.
package report

import (
	"encoding/json"
	"fmt"
	"html"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/openclaw/clawdinator-bundle/internal/manifest"
	"github.com/openclaw/clawdinator-bundle/internal/problem"
	"github.com/openclaw/clawdinator-bundle/internal/result"
)

// Prefix starts every line the tool prints on stderr.
const Prefix = "clawdinator-bundle: "

// Text writes one line per object and one per problem.
func Text(w io.Writer, r *result.Result) {
	for _, in := range r.Instances {
		for _, o := range in.Objects {
			state := "FAILED"
			if o.Verified {
				state = "verified"
			}
			ver := ""
			if o.VersionID != "" {
				ver = " version " + problem.ShortVersion(o.VersionID)
			}
			fmt.Fprintf(w, "%s%s\n", Prefix, Clean(fmt.Sprintf("%s: %s %s %s sha256 %s%s %s", in.Instance, o.Key, o.Status, Size(o.Size), problem.Short(o.SHA256), ver, state)))
		}
		if in.Verified && len(in.Secrets) > 0 {
			fmt.Fprintf(w, "%s%s: %d secrets decrypted to EOF with the bundled key\n", Prefix, Clean(in.Instance), len(in.Secrets))
		}
	}
	for _, p := range r.Planned {
		fmt.Fprintf(w, "%s%s\n", Prefix, Clean(fmt.Sprintf("%s: planned, prefix %s, token %s", p.Instance, p.Prefix, p.DiscordTokenSecret)))
	}
	Problems(w, r.Problems)
}

// Problems writes each problem as "clawdinator-bundle: error: …".
func Problems(w io.Writer, l problem.List) {
	for _, p := range l {
		fmt.Fprintf(w, "%s%s: %s\n", Prefix, p.Severity, Clean(p.String()))
	}
}

// JSONResult is the --json document.
type JSONResult struct {
	*result.Result
	OK       bool          `json:"ok"`
	Problems []JSONProblem `json:"problems"`
	// Planned is result.Planned, present (maybe empty) in plan mode only.
	Planned *[]result.Planned `json:"planned,omitempty"`
	Error   string            `json:"error,omitempty"`
}

// JSONProblem is one problem in the --json document.
type JSONProblem struct {
	Severity string `json:"severity"`
	Instance string `json:"instance,omitempty"`
	Input    string `json:"input,omitempty"`
	File     string `json:"file,omitempty"`
	Object   string `json:"object,omitempty"`
	Entry    string `json:"entry,omitempty"`
	Message  string `json:"message"`
}

// JSON writes the result as one indented JSON document.
func JSON(w io.Writer, r *result.Result) error {
	runErr := r.Err()
	if r.Instances == nil {
		cp := *r
		cp.Instances = []result.Instance{}
		r = &cp
	}
	doc := JSONResult{Result: r, OK: r.OK(), Problems: []JSONProblem{}}
	if r.Mode == result.Plan {
		// A plan's list is always there, empty when the plan failed.
		planned := append([]result.Planned{}, r.Planned...)
		doc.Planned = &planned
	}
	if runErr != nil {
		doc.Error = runErr.Error()
	}
	for _, p := range r.Problems {
		doc.Problems = append(doc.Problems, JSONProblem{p.Severity.String(), p.Instance, p.Input, p.File, p.Object, p.Entry, p.Message})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

// ManifestOutput is the action's `manifest` output, a JSON array: every
// manifest written (publish, assemble with an output directory) or, in
// verify, what verify proved of each instance that verified, in the form
// of a manifest: instance, prefix, the objects' keys, sizes, digests and
// versions, the secrets, and the recipient (when pinned). What nothing
// checked of the bucket's manifest.json (tool, source) is left out: an
// output is never text a bucket writer chose.
func ManifestOutput(r *result.Result) string {
	ms := r.Manifests()
	if r.Mode == result.Verify {
		ms = provenManifests(r)
	}
	data, _ := json.Marshal(ms)
	return string(data)
}

func provenManifests(r *result.Result) []*manifest.Manifest {
	out := []*manifest.Manifest{}
	for _, in := range r.Instances {
		if !in.Verified || in.Manifest == nil {
			continue
		}
		m := &manifest.Manifest{FormatVersion: in.Manifest.FormatVersion, Instance: in.Instance, BootstrapPrefix: in.Prefix,
			Recipient: in.Manifest.Recipient, Secrets: in.Secrets}
		if r.Unpinned {
			m.Recipient = ""
		}
		for _, o := range in.Objects {
			m.Objects = append(m.Objects, o.Object)
		}
		out = append(out, m)
	}
	return out
}

// Output is one of the action's outputs.
type Output struct{ Name, Value string }

// Outputs returns every output of the action, in the order of action.yml,
// for any result: the ones a workflow branches on (uploaded,
// instances-proven) are plain strings, the lists are JSON on one line.
func Outputs(r *result.Result) []Output {
	names, _ := json.Marshal(r.Names())
	matrix, _ := json.Marshal(map[string][]string{"instance": r.Names()})
	return []Output{
		{"manifest", ManifestOutput(r)},
		{"recipient", recipientOutput(r)},
		{"uploaded", fmt.Sprint(r.Uploaded())},
		{"instances-proven", fmt.Sprint(r.Proven())},
		{"instances", string(names)},
		{"matrix", string(matrix)},
	}
}

// recipientOutput is the recipient output: the key that was proven, held
// to a pin or held by this run; empty when verify ran unpinned.
func recipientOutput(r *result.Result) string {
	if r.Unpinned {
		return ""
	}
	return r.Recipient
}

// Summary renders the Markdown step summary: a table of every object.
func Summary(r *result.Result) string {
	var b strings.Builder
	runErr := r.Err()
	mark := "✅"
	if !r.OK() {
		mark = "❌"
	}
	fmt.Fprintf(&b, "### %s clawdinator-bundle %s\n\n", mark, r.Mode)
	switch {
	case r.Unpinned:
		b.WriteString("**Unpinned:** `expected-recipient: none`, so no bundled key was held to the fleet key; a bundle made with any key that decrypts its own secrets passes.\n\n")
		if r.Recipient != "" {
			fmt.Fprintf(&b, "Keys found in the bundles (not proven to be the fleet's): %s\n\n", code(r.Recipient))
		}
	case r.Recipient != "":
		fmt.Fprintf(&b, "Key recipient: %s\n\n", code(r.Recipient))
	}
	if len(r.Instances) > 0 {
		b.WriteString("| instance | object | size | sha256 | version | status | secrets | verified |\n")
		b.WriteString("|---|---|---:|---|---|---|---:|---|\n")
		for _, in := range r.Instances {
			for _, o := range in.Objects {
				secrets := ""
				if strings.HasSuffix(o.Name, "secrets.tar.zst") {
					secrets = fmt.Sprint(len(in.Secrets))
				}
				v := "❌"
				if o.Verified {
					v = "✅"
				}
				fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", Markdown(in.Instance), code(o.Key), Size(o.Size), code(problem.Short(o.SHA256)), cell(problem.ShortVersion(o.VersionID)), Markdown(string(o.Status)), secrets, v)
			}
		}
		b.WriteString("\n")
	}
	if len(r.Planned) > 0 {
		b.WriteString("| instance | prefix | discord token |\n|---|---|---|\n")
		for _, p := range r.Planned {
			fmt.Fprintf(&b, "| %s | %s | %s |\n", Markdown(p.Instance), code(p.Prefix), code(p.DiscordTokenSecret))
		}
		b.WriteString("\n")
	}
	if runErr != nil {
		fmt.Fprintf(&b, "**Could not complete:** %s\n\n", Markdown(runErr.Error()))
	}
	if len(r.Problems) > 0 {
		b.WriteString("**Problems**\n\n")
		for _, p := range r.Problems {
			fmt.Fprintf(&b, "- %s: %s\n", p.Severity, Markdown(p.String()))
		}
		b.WriteString("\n")
	}
	return b.String()
}

func cell(s string) string {
	if s == "" {
		return "—"
	}
	return code(s)
}

// code renders s as a Markdown code span, or as escaped text when s holds a
// backtick that would end the span.
func code(s string) string {
	s = Clean(s)
	if strings.ContainsAny(s, "`|") {
		return Markdown(s)
	}
	return "`" + s + "`"
}

// Clean escapes every control character in s (C0, DEL, C1, and the Unicode
// line and paragraph separators) as \xNN or \uNNNN, so that no text from
// an input, a file name or a bucket listing starts a new line, a workflow
// command (a line beginning "::") or a terminal escape sequence.
func Clean(s string) string {
	clean := true
	for _, r := range s {
		if unsafeRune(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case !unsafeRune(r):
			b.WriteRune(r)
		case r < 0x100:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
	}
	return b.String()
}

func unsafeRune(r rune) bool {
	return r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 || r == 0x2028 || r == 0x2029 || r == utf8.RuneError
}

// Markdown renders s as plain text inside a line of a Markdown step summary
// (a table cell, a list item; never at the start of a line): control
// characters escaped (Clean), HTML escaped, every character that marks up
// inline text or ends a cell backslash-escaped, and what GitHub would turn
// into a link by itself (a scheme's ":", "www.", an address's "@") written
// as character references, which render the same but link nothing.
func Markdown(s string) string {
	s = html.EscapeString(Clean(s))
	var b strings.Builder
	for i, r := range s {
		switch {
		case strings.ContainsRune("\\`*_[]|~", r):
			b.WriteByte('\\')
		case r == ':':
			b.WriteString("&#58;")
			continue
		case r == '@':
			b.WriteString("&#64;")
			continue
		case r == '.' && i >= 3 && strings.EqualFold(s[i-3:i], "www"):
			b.WriteString("&#46;")
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Size renders a byte count in binary units.
func Size(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// Error writes err as the one error line: "clawdinator-bundle: error: …",
// control characters escaped.
func Error(w io.Writer, err error) {
	fmt.Fprintf(w, "%serror: %s\n", Prefix, Clean(err.Error()))
}
