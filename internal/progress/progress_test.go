package progress_test

import (
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/openclaw/clawdinator-bundle/internal/progress"
)

// The count is of bytes read so far: an upload retried from the start
// (a seek back) counts again from there, not on top of the first try.
func TestReaderCountsAndRestartsOnSeek(t *testing.T) {
	var got []int64
	r := &progress.Reader{ReadSeeker: strings.NewReader("0123456789"), Report: func(n int64) { got = append(got, n) }}
	buf := make([]byte, 4)
	for range 3 {
		if _, err := r.Read(buf); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.Seek(2, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(r); err != nil {
		t.Fatal(err)
	}
	if want := []int64{4, 8, 10, 10}; !slices.Equal(got, want) {
		t.Errorf("reported %v, want %v", got, want)
	}
}
