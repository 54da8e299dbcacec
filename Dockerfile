# syntax=docker/dockerfile:1
#
# The gatewarden image: a static binary on distroless, running as the
# "nonroot" user (65532), as the Helm chart and config/ expect.
#
#   docker build --build-arg VERSION=v0.1.0 -t ghcr.io/gatewarden/gatewarden:v0.1.0 .
#
# VERSION defaults to the chart's appVersion, so an image built without it
# matches the chart's default image tag.

FROM --platform=$BUILDPLATFORM golang:1.26 AS builder
ARG TARGETOS
ARG TARGETARCH
ARG VERSION=v0.1.0
WORKDIR /src

# Dependencies in their own layer: rebuilt only when go.mod/go.sum change.
COPY go.mod go.sum ./
RUN go mod download

COPY . .
RUN --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} \
    go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /gatewarden ./cmd/gatewarden

FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=v0.1.0
LABEL org.opencontainers.image.title="gatewarden" \
      org.opencontainers.image.description="Gateway API route attachment admission webhook" \
      org.opencontainers.image.source="https://github.com/gatewarden/gatewarden" \
      org.opencontainers.image.version="${VERSION}"
COPY --from=builder /gatewarden /gatewarden
USER 65532:65532
ENTRYPOINT ["/gatewarden"]
