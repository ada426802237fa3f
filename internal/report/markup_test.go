package report

import (
	"fmt"
	"strings"
	"testing"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	east "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/text"

	"github.com/openclaw/clawdinator-bundle/internal/manifest"
	"github.com/openclaw/clawdinator-bundle/internal/problem"
	"github.com/openclaw/clawdinator-bundle/internal/result"
)

// hostile is text a bucket writer or a repository writer controls: object
// keys and listings, manifest fields, instance names, file names, problem
// messages that quote them.
var hostile = []string{
	"https://evil.example/login", "http://evil.example", "HTTPS://EVIL.EXAMPLE/x", "ftp://evil.example/f",
	"www.evil.example", "WWW.evil.example/path", "see www.evil.example.", "(https://evil.example)",
	"<https://evil.example>", "<mailto:x@evil.example>", "x@evil.example", "mailto:x@evil.example", "a.b+c@evil.example.org",
	"[click](https://evil.example)", "![img](https://evil.example/i.png)", "[ref]: https://evil.example", "[x][ref]",
	"*em*", "_em_", "**strong**", "__strong__", "~~struck~~", "~struck~", "***both***",
	"a|b", "| cell | cell |", "|---|---|", "\\|",
	"<b>bold</b>", "<img src=x onerror=alert(1)>", "<!-- comment -->", "<script>alert(1)</script>", "&lt;b&gt;", "&#60;b&#62;",
	"`code`", "``", "\\`", "\\*not\\*",
	"::error::injected", "::add-mask::x", "\n::warning::injected", "x\r\n::error::y", "\x1b[31mred\x1b[0m", "\u2028::error::z", "\x00\x7f\x85",
	"# heading", "> quote", "- item", "1. item", "---",
	strings.Repeat("https://evil.example/", 500), strings.Repeat("*_", 2000),
}

// hostileResult puts s in every field of a result that comes from a
// bucket, a listing, instances.json or a file name.
func hostileResult(s string) *result.Result {
	obj := result.Object{Object: manifest.Object{Name: s, Key: s + "/secrets.tar.zst", SHA256: s, VersionID: s, Size: 1}, Status: result.Checked, Verified: true}
	return &result.Result{
		Mode: result.Verify, Recipient: s,
		Instances: []result.Instance{{Instance: s, Prefix: s, Objects: []result.Object{obj, obj}}},
		Planned:   []result.Planned{{Instance: s, Prefix: s, DiscordTokenSecret: s}},
		Problems: problem.List{
			{Instance: s, Object: s, Entry: s, Message: s},
			{File: s, Message: "is " + s},
			{Input: s, Message: s, Severity: problem.Warning},
		},
		Failure: fmt.Errorf("instance %s: %s", s, s),
	}
}

// What GitHub renders a step summary with: GFM, links made of bare URLs
// included.
var gfm = goldmark.New(goldmark.WithExtensions(extension.GFM))

// Our own markup in a summary: the only emphasis allowed (with the
// heading, the tables and the list of problems, the only other markup).
var ownEmphasis = map[string]bool{"Problems": true, "Could not complete:": true, "Unpinned:": true, "Bad configuration:": true}

// TestSummaryRendersNoMarkupFromOutside: no string from outside yields a
// link, an image, HTML, emphasis or strikethrough when the summary is
// rendered as GitHub renders it, and every table row keeps its cells.
func TestSummaryRendersNoMarkupFromOutside(t *testing.T) {
	for _, s := range hostile {
		for _, unpinned := range []bool{false, true} {
			r := hostileResult(s)
			r.Unpinned = unpinned
			md := Summary(r)
			src := []byte(md)
			doc := gfm.Parser().Parse(text.NewReader(src))
			ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
				if !entering {
					return ast.WalkContinue, nil
				}
				switch n := n.(type) {
				case *ast.Link, *ast.AutoLink, *ast.Image, *ast.RawHTML, *ast.HTMLBlock, *east.Strikethrough:
					t.Errorf("%q renders a %s node:\n%s", short(s), n.Kind(), md)
				case *ast.Emphasis:
					if label := nodeText(n, src); !ownEmphasis[label] {
						t.Errorf("%q renders emphasis %q:\n%s", short(s), short(label), md)
					}
				case *ast.Heading, *ast.Blockquote, *ast.ThematicBreak, *ast.CodeBlock, *ast.FencedCodeBlock:
					if n.Kind() != ast.KindHeading || n.(*ast.Heading).Level != 3 {
						t.Errorf("%q renders a %s:\n%s", short(s), n.Kind(), md)
					}
				case *east.Table:
					want := -1
					for row := n.FirstChild(); row != nil; row = row.NextSibling() {
						if c := row.ChildCount(); want == -1 {
							want = c
						} else if c != want {
							t.Errorf("%q: a table row has %d cells, the header %d:\n%s", short(s), c, want, md)
						}
					}
				}
				return ast.WalkContinue, nil
			})
		}
	}
}

// TestLogLinesStartNoCommand: in the text on stderr, every line starts
// with the tool's prefix (never "::", never a control character), whatever
// the bucket said.
func TestLogLinesStartNoCommand(t *testing.T) {
	for _, s := range hostile {
		var b strings.Builder
		r := hostileResult(s)
		Text(&b, r)
		Error(&b, r.Failure)
		for _, line := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
			if !strings.HasPrefix(line, Prefix) || strings.ContainsFunc(line, unsafeRune) {
				t.Errorf("%q: line %q", short(s), short(line))
			}
		}
	}
}

// nodeText is the text below n, as its reader sees it.
func nodeText(n ast.Node, src []byte) string {
	var b strings.Builder
	ast.Walk(n, func(c ast.Node, entering bool) (ast.WalkStatus, error) {
		if t, ok := c.(*ast.Text); ok && entering {
			b.Write(t.Segment.Value(src))
		}
		return ast.WalkContinue, nil
	})
	return b.String()
}

func short(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}

// Markdown writes what GitHub would link by itself as character
// references: a scheme's colon, an address's @, and the dot of www.
// wherever it stands (at the start of a cell too, where goldmark links
// nothing but GitHub's renderer does).
func TestMarkdownLinksNothing(t *testing.T) {
	for in, want := range map[string]string{
		"www.x":             "www&#46;x",
		"WwW.x":             "WwW&#46;x",
		"a www.x":           "a www&#46;x",
		"ww.x":              "ww.x",
		".x":                ".x",
		"https://x":         "https&#58;//x",
		"a@b.c":             "a&#64;b.c",
		"plain text, 1.2.3": "plain text, 1.2.3",
	} {
		if got := Markdown(in); got != want {
			t.Errorf("Markdown(%q) = %q, want %q", in, got, want)
		}
	}
}

// Clean escapes C1 controls, U+0080 to U+009F, and nothing on either side.
func TestCleanC1Edges(t *testing.T) {
	for in, want := range map[string]string{"\u007e": "~", "\u0080": `\x80`, "\u009f": `\x9f`, "\u00a0": "\u00a0"} {
		if got := Clean(in); got != want {
			t.Errorf("Clean(%q) = %q, want %q", in, got, want)
		}
	}
}

// Verify's manifest output is what verify proved: instances that verified,
// without the fields of manifest.json nothing checked; unpinned, without a
// recipient. Publish's is the manifest it wrote, whole.
func TestManifestOutputProven(t *testing.T) {
	m := &manifest.Manifest{FormatVersion: 2, Instance: "i", BootstrapPrefix: "p", Recipient: "age1r",
		Tool: manifest.Tool{Name: "writer", Version: "v1'; touch PWNED; echo '"}, Source: manifest.Source{Repository: "evil/repo"}}
	obj := result.Object{Object: manifest.Object{Name: "secrets.tar.zst", Key: "p/secrets.tar.zst", SHA256: "aa", Size: 1, VersionID: "v"}, Status: result.Checked, Verified: true}
	r := &result.Result{Mode: result.Verify, Instances: []result.Instance{
		{Instance: "i", Prefix: "p", Verified: true, Manifest: m, Objects: []result.Object{obj}},
		{Instance: "j", Prefix: "q", Verified: false, Manifest: m},
	}}
	got := ManifestOutput(r)
	if want := `[{"formatVersion":2,"instance":"i","bootstrapPrefix":"p","recipient":"age1r","objects":[{"name":"secrets.tar.zst","key":"p/secrets.tar.zst","size":1,"sha256":"aa","versionId":"v"}],"secrets":null}]`; got != want {
		t.Errorf("verify's manifest output:\n got %s\nwant %s", got, want)
	}
	r.Unpinned = true
	if got := ManifestOutput(r); !strings.Contains(got, `"recipient":""`) {
		t.Errorf("unpinned manifest output names a recipient: %s", got)
	}
	r.Mode = result.Publish
	if got := ManifestOutput(r); strings.Count(got, `"tool":{"name":"writer"`) != 2 {
		t.Errorf("publish's manifest output is not the manifests written: %s", got)
	}
}

// Unpinned, the summary says so, names the keys found only as found, and
// never as "Key recipient".
func TestSummaryUnpinned(t *testing.T) {
	r := &result.Result{Mode: result.Verify, Unpinned: true, Recipient: "age1found"}
	s := Summary(r)
	if !strings.Contains(s, "**Unpinned:**") || !strings.Contains(s, "Keys found in the bundles (not proven to be the fleet's): `age1found`") || strings.Contains(s, "Key recipient") {
		t.Errorf("unpinned summary:\n%s", s)
	}
	r.Recipient = ""
	if s := Summary(r); strings.Contains(s, "Keys found") || !strings.Contains(s, "**Unpinned:**") {
		t.Errorf("unpinned summary without a key:\n%s", s)
	}
	r.Unpinned, r.Recipient = false, "age1pin"
	if s := Summary(r); !strings.Contains(s, "Key recipient: `age1pin`") || strings.Contains(s, "Unpinned") {
		t.Errorf("pinned summary:\n%s", s)
	}
	if o := recipientOutput(&result.Result{Recipient: "age1pin"}); o != "age1pin" {
		t.Errorf("recipient output %q", o)
	}
	if o := recipientOutput(&result.Result{Recipient: "age1found", Unpinned: true}); o != "" {
		t.Errorf("unpinned recipient output %q", o)
	}
}
