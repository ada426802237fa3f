// Package containertest ships the action the way GitHub runs it, and holds
// only tests:
//
//   - image_test.go builds the repository's own Dockerfile with podman and
//     runs the image as the GitHub runner runs a Docker action (workspace and
//     file-command mounts, INPUT_* for every input of action.yml, host
//     network to reach a versitygw S3 server on 127.0.0.1): publish, verify,
//     and assemble on the fixture .github/workflows/ci.yml generates;
//   - act_test.go runs workflows of testdata/act through act (nektos/act) on
//     podman's Docker API: the release example with `uses: ./`, and the
//     README's prebuilt-image snippet with `uses: docker://…@sha256:…`;
//   - release_test.go runs scripts/release/rehearse.sh against a registry
//     it serves on 127.0.0.1 and reads the two-platform index back (no
//     shell, no S3 server, the arm64 binary under qemu-aarch64-static, act
//     on the release commit), checks an image built without VERSION says
//     "unknown", and runs scripts/release/notes.sh on a CHANGELOG;
//   - readme_test.go holds every ```yaml block of README.md equal to lines of
//     a workflow that scripts/ci/lint-workflows.sh checks.
//
// podman, act and the stand-in base images come from scripts/ci/install.sh
// (scripts/ci/podman-setup.sh). A test that misses one is skipped, or fails
// when CI=true.
package containertest
