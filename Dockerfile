# The action's image: one static binary (no cgo, paths trimmed, version
# stamped, built without the demo's in-process S3 server) on distroless.
#
# Base images are build arguments. Their defaults are the two stages below,
# pinned by tag and index digest, where Dependabot's docker ecosystem finds
# and bumps them (it does not read ARG defaults). The release workflow uses
# the defaults; the offline tests here pass local stand-ins:
#   --build-arg GO_IMAGE=docker.io/library/golang:1.26
#   --build-arg BASE_IMAGE=gcr.io/distroless/static-debian12:latest
# A stage that is not used is not pulled. podman 4.3 (buildah 1.28) does not
# see the stage behind an ARG when it skips unused stages: with the defaults,
# build with --skip-unused-stages=false there (BuildKit needs nothing).
ARG GO_IMAGE=golang-pinned
ARG BASE_IMAGE=distroless-pinned
FROM --platform=$BUILDPLATFORM golang:1.26.9@sha256:f1f0bcc2c524a3ced375fcb4d1ecb7aa371aa7070e112599aaca45cc02d0101b AS golang-pinned
FROM gcr.io/distroless/static-debian12:latest@sha256:d75cdd72874d4790092fcb1b058493ecf6bb5bf2b2b897045b00ff01d91843f2 AS distroless-pinned

# The compiler runs on the build platform and cross-compiles for the target
# one: no RUN executes under emulation, so linux/arm64 costs what amd64 does.
FROM --platform=$BUILDPLATFORM ${GO_IMAGE} AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOTOOLCHAIN=local
# Modules first: this layer stays cached while only source changes.
COPY go.mod go.sum ./
RUN go mod download
COPY cmd ./cmd
COPY internal ./internal
# Set by the builder (buildx, podman) from --platform; empty means the
# build platform's own.
ARG TARGETOS TARGETARCH
# Stamped by the release (--build-arg VERSION=vX.Y.Z). A runner building
# `image: Dockerfile` from a checkout passes none: the version says so.
ARG VERSION=unknown
# The build cache is a cache mount: building the second platform, or again
# with another VERSION, recompiles only what changed.
RUN --mount=type=cache,target=/root/.cache/go-build \
	GOCACHE=/root/.cache/go-build GOOS=${TARGETOS} GOARCH=${TARGETARCH} go build -trimpath -tags nodemo \
	-ldflags "-s -w -X main.version=${VERSION}" -o /out/clawdinator-bundle ./cmd/clawdinator-bundle

# The bare binary, for the release's host downloads:
#   --target binary --output type=local,dest=DIR
FROM scratch AS binary
COPY --from=build /out/clawdinator-bundle /clawdinator-bundle

# Final: CA certificates and the binary, nothing else (no shell). No USER
# line: GitHub runs Docker actions as root and mounts the workspace owned by
# the runner.
FROM ${BASE_IMAGE}
COPY --from=build /out/clawdinator-bundle /usr/local/bin/clawdinator-bundle
ENTRYPOINT ["/usr/local/bin/clawdinator-bundle"]
