# syntax=docker/dockerfile:1
# Build: cgo is required (h3-go wraps the H3 C library).
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=dev
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=1 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/hyperlieu ./cmd/hyperlieu \
    && mkdir -p /out/data

# Run: distroless base has glibc (for cgo), CA certificates and tzdata, and no shell.
FROM gcr.io/distroless/base-debian12:nonroot
ARG VERSION=dev
LABEL org.opencontainers.image.title="hyperlieu" \
      org.opencontainers.image.description="Backend of a brand's mobile app: geofenced campaigns, shops and local events, push, loyalty" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.source="https://github.com/hyperlieu/hyperlieu" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /out/hyperlieu /usr/local/bin/hyperlieu
COPY --from=build --chown=65532:65532 /out/data /var/lib/hyperlieu
ENV HYPERLIEU_ADDR=0.0.0.0:8080 \
    HYPERLIEU_DATA_DIR=/var/lib/hyperlieu \
    HYPERLIEU_LOG_FORMAT=json
USER nonroot:nonroot
WORKDIR /var/lib/hyperlieu
EXPOSE 8080
# No shell in the image: the binary checks itself (GET /healthz on HYPERLIEU_ADDR).
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["/usr/local/bin/hyperlieu", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/hyperlieu"]
CMD ["serve"]
