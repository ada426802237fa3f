# The image GitHub builds for `uses: org/clawdinator-bundle@v1` on every run.
# Builder: a static binary (no cgo), paths trimmed, version stamped.
FROM golang:1.26 AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOTOOLCHAIN=local
# Modules first: this layer stays cached while only source changes.
COPY go.mod go.sum ./
RUN go mod download
COPY cmd ./cmd
COPY internal ./internal
ARG VERSION=v1-dev
RUN go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/clawdinator-bundle ./cmd/clawdinator-bundle

# Final: CA certificates and the binary, nothing else. No USER line: GitHub
# runs Docker actions as root and mounts the workspace owned by the runner.
FROM gcr.io/distroless/static-debian12
COPY --from=build /out/clawdinator-bundle /usr/local/bin/clawdinator-bundle
ENTRYPOINT ["/usr/local/bin/clawdinator-bundle"]
