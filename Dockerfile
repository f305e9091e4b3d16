# autoclaim as a static binary on a distroless base, run as a non-root user.
#   docker build -t autoclaim .
#   docker run -p 8080:8080 -e AUTOCLAIM_ADDR=:8080 -e AUTOCLAIM_REDIS_URL=redis://redis:6379/0 -e AUTOCLAIM_JWT_SECRET=… autoclaim
# docs/deploy.md has the rest (Kubernetes, systemd).
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/autoclaim .

# static-debian12: no libc, no shell; CA certificates (for OIDC, OTLP over
# HTTPS) and /etc/passwd with the nonroot user (65532) are there.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/autoclaim /autoclaim
USER 65532:65532
EXPOSE 8080 9090
ENTRYPOINT ["/autoclaim"]
