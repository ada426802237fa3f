// Command gen writes action.yml from the option table in internal/config.
//
//	go run ./internal/config/gen                 # main: image: Dockerfile
//	go run ./internal/config/gen -image docker://ghcr.io/OWNER/clawdinator-bundle@sha256:DIGEST
//
// The second form is for a release commit: the action then runs the
// prebuilt image by digest instead of building the Dockerfile.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/openclaw/clawdinator-bundle/internal/config"
)

func main() { os.Exit(run(os.Args[1:], os.Stderr)) }

func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	image := fs.String("image", config.DockerfileImage, "runs.image: Dockerfile, or docker://REGISTRY/REPOSITORY@sha256:DIGEST for a release commit")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "gen: unexpected arguments %q\n", fs.Args())
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
	return 0
}
