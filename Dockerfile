# kaizalabot: a multi-stage build. go-sqlite3 needs cgo, so the binary is
# built with gcc against glibc and runs on distroless/base (glibc, CA
# certificates, tzdata, no shell) as a non-root user.

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=1 go build -trimpath -ldflags="-s -w" -o /out/kaizalabot . \
 && mkdir -p /out/data

FROM gcr.io/distroless/base-debian12:nonroot
COPY --from=build /out/kaizalabot /usr/local/bin/kaizalabot
# The database (migrations, audit history, the rotated refresh token) lives
# on this volume; back it up (see README, Operations).
COPY --from=build --chown=65532:65532 /out/data /data
ENV KAIZALA_DB=/data/kaizalabot.db \
    KAIZALA_LISTEN=:3000
VOLUME ["/data"]
EXPOSE 3000
USER nonroot:nonroot
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD ["/usr/local/bin/kaizalabot", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/kaizalabot"]
CMD ["serve"]
