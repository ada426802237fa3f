package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	pg "github.com/openclaw/clawdinator-bundle/internal/progress"
)

func TestProgressLines(t *testing.T) {
	for _, tc := range []struct {
		name string
		tty  bool
		want []string
		not  []string
	}{
		{name: "log", want: []string{"clawdinator-bundle: clawdinator-1: uploading repo-seeds.tar.zst 512 B / 1.0 KiB (50%)\n", "(100%)\n"}, not: []string{"\r", "["}},
		{name: "terminal", tty: true, want: []string{"\r\033[Kclawdinator-bundle: clawdinator-1: uploading repo-seeds.tar.zst [############------------] 512 B / 1.0 KiB (50%)", "\r\033[K"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			p := newProgress(&b, func(string) string { return "" })
			p.tty, p.every = tc.tty, time.Nanosecond
			up := func(done int64) {
				p.event(pg.Event{Instance: "clawdinator-1", Step: "upload", Object: "repo-seeds.tar.zst", Done: done, Total: 1024})
				time.Sleep(time.Millisecond)
			}
			up(0) // starts the clock: a step that ends within one period stays quiet
			up(512)
			up(1024)
			p.seeds(3 << 20)
			p.done()
			for _, w := range tc.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("missing %q in\n%q", w, b.String())
				}
			}
			for _, n := range tc.not {
				if strings.Contains(b.String(), n) {
					t.Errorf("unexpected %q in\n%q", n, b.String())
				}
			}
		})
	}
}

// A step that finishes within one period prints nothing, and
// CLAWDINATOR_PROGRESS=0 silences everything.
func TestProgressQuiet(t *testing.T) {
	var b bytes.Buffer
	p := newProgress(&b, func(string) string { return "" })
	p.event(pg.Event{Instance: "i", Step: "upload", Object: "o", Done: 0, Total: 10})
	p.event(pg.Event{Instance: "i", Step: "upload", Object: "o", Done: 10, Total: 10})
	p.done()
	off := newProgress(&b, func(k string) string {
		if k == "CLAWDINATOR_PROGRESS" {
			return "0"
		}
		return ""
	})
	off.every = time.Nanosecond
	off.event(pg.Event{Instance: "i", Step: "upload", Object: "o", Done: 0, Total: 10})
	time.Sleep(time.Millisecond)
	off.event(pg.Event{Instance: "i", Step: "upload", Object: "o", Done: 5, Total: 10})
	if b.Len() != 0 {
		t.Errorf("printed %q", b.String())
	}
}
