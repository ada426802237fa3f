// Command gen writes action.yml, and the generated sections of the
// documents in config.DocFiles, from the option table in internal/config.
//
//	go run ./internal/config/gen                 # main: image: Dockerfile
//	go run ./internal/config/gen -image docker://ghcr.io/OWNER/clawdinator-bundle@sha256:DIGEST
//
// The second form is for a release commit: the action then runs the
// prebuilt image by digest instead of building the Dockerfile.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/openclaw/clawdinator-bundle/internal/config"
)

func main() { os.Exit(run(os.Args[1:], os.Stderr)) }

func run(args []string, stderr io.Writer) int {
	flags := flag.NewFlagSet("gen", flag.ContinueOnError)
	flags.SetOutput(stderr)
	image := flags.String("image", config.DockerfileImage, "runs.image: Dockerfile, or docker://REGISTRY/REPOSITORY@sha256:DIGEST for a release commit")
	if err := flags.Parse(args); err != nil {
		return 2
	}
	if flags.NArg() > 0 {
		fmt.Fprintf(stderr, "gen: unexpected arguments %q\n", flags.Args())
		return 2
	}
	text, err := config.ActionYAMLImage(*image)
	if err != nil {
		fmt.Fprintf(stderr, "gen: %v\n", err)
		return 2
	}
	if err := os.WriteFile("action.yml", []byte(text), 0o644); err != nil {
		fmt.Fprintf(stderr, "gen: %v\n", err)
		return 1
	}
	// The documents' generated sections, where the documents are (the
	// repository root).
	for _, p := range config.DocFiles {
		doc, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err == nil {
			var filled string
			if filled, err = config.FillDoc(string(doc)); err == nil && filled != string(doc) {
				err = os.WriteFile(p, []byte(filled), 0o644)
			}
		}
		if err != nil {
			fmt.Fprintf(stderr, "gen: %s: %v\n", p, err)
			return 1
		}
	}
	return 0
}
