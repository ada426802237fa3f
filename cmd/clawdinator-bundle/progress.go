package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	pg "github.com/openclaw/clawdinator-bundle/internal/progress" // the events the progress type below draws
	"github.com/openclaw/clawdinator-bundle/internal/report"
)

// progress draws long steps: a redrawn line on a terminal, a periodic plain
// line elsewhere (Actions logs), nothing when quiet.
type progress struct {
	mu       sync.Mutex
	w        io.Writer
	tty      bool
	every    time.Duration
	last     map[string]time.Time
	shown    map[string]bool
	drawn    bool
	disabled bool
}

func newProgress(w io.Writer, getenv func(string) string) *progress {
	p := &progress{w: w, every: 10 * time.Second, last: map[string]time.Time{}, shown: map[string]bool{}}
	if f, ok := w.(*os.File); ok && getenv("GITHUB_ACTIONS") != "true" && getenv("TERM") != "dumb" {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.tty, p.every = true, 200*time.Millisecond
		}
	}
	if getenv("CLAWDINATOR_PROGRESS") == "0" {
		p.disabled = true
	}
	return p
}

func (p *progress) line(id, text string, final bool) {
	if p == nil || p.disabled {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	last, started := p.last[id]
	if !started {
		// Quiet for steps that finish within one period.
		p.last[id] = now
		return
	}
	if final && !p.shown[id] || !final && now.Sub(last) < p.every {
		return
	}
	p.last[id] = now
	p.shown[id] = true
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s%s", report.Prefix, report.Clean(text))
		p.drawn = true
		return
	}
	fmt.Fprintf(p.w, "%s%s\n", report.Prefix, report.Clean(text))
}

// seeds reports repo-seeds bytes compressed so far.
func (p *progress) seeds(n int64) {
	p.line("seeds", fmt.Sprintf("compressing repo-seeds: %s read", report.Size(n)), false)
}

// event reports uploads and verification steps.
func (p *progress) event(e pg.Event) {
	switch {
	case p == nil:
	case e.Step == "upload" && e.Total > 0:
		pct := e.Done * 100 / e.Total
		bar := ""
		if p.tty {
			const width = 24
			n := int(pct) * width / 100
			bar = "[" + strings.Repeat("#", n) + strings.Repeat("-", width-n) + "] "
		}
		p.line(e.Instance+e.Object, fmt.Sprintf("%s: uploading %s %s%s / %s (%d%%)", e.Instance, e.Object, bar, report.Size(e.Done), report.Size(e.Total), pct), e.Done == e.Total)
	}
}

func (p *progress) done() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty && p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
