# syntax=docker/dockerfile:1
# Arena's image: arena-server (with Agones support) and arena-bot, on a slim Debian runtime.
#   docker build -t arena:dev .
#   docker run --rm -p 7777:7777 arena:dev          # then open http://localhost:7777/
#   docker run --rm --entrypoint arena-bot arena:dev --url ws://HOST:7777/ws --bots 50 --duration 30
# Validated statically by scripts/check-deploy.sh; see deploy/README.md for what has not run.

# Same minor as the toolchain the workspace is developed and tested with (rust-version = 1.85 is
# only the floor). Bookworm so the builder's glibc matches the runtime image's.
ARG RUST_VERSION=1.95
FROM rust:${RUST_VERSION}-bookworm AS builder
# The agones crate's build script compiles the Agones SDK's .proto files: it needs protoc.
RUN apt-get update \
 && apt-get install -y --no-install-recommends protobuf-compiler \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# Cache mounts keep the registry and the target directory between builds (a release build with
# thin LTO and one codegen unit is slow); the binaries are copied out because a cache mount is
# not part of the image layer.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p arena-server -p arena-bot --features arena-server/agones \
 && mkdir -p /out \
 && cp target/release/arena-server target/release/arena-bot /out/

FROM debian:bookworm-slim AS runtime
# A fixed numeric uid, so a pod's runAsNonRoot/runAsUser can be checked against the image.
RUN groupadd --system --gid 10001 arena \
 && useradd --system --uid 10001 --gid arena --home-dir /opt/arena --shell /usr/sbin/nologin arena
COPY --from=builder /out/arena-server /out/arena-bot /usr/local/bin/
# The browser client and the built-in maps are compiled into the binary; assets/ is shipped for
# what reads files at run time: `map = "assets/maps/..."`, `web_dir`, and server.toml as the
# reference of every key.
COPY --chown=root:root assets /opt/arena/assets
COPY --chown=root:root deploy/server.toml /etc/arena/server.toml
WORKDIR /opt/arena
USER 10001:10001
EXPOSE 7777/tcp
# docker run only; Kubernetes and Agones ignore HEALTHCHECK and use their own probes. bash's
# /dev/tcp keeps curl out of the image.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/7777 && printf 'GET /healthz HTTP/1.0\\r\\n\\r\\n' >&3 && head -c 12 <&3 | grep -q ' 200'"]
ENTRYPOINT ["arena-server"]
CMD ["--config", "/etc/arena/server.toml"]
