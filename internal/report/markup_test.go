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
					if label := string(n.Text(src)); !ownEmphasis[label] {
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

func short(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}
