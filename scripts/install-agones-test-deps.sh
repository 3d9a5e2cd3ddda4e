#!/usr/bin/env bash
# Installs what the `agones` feature's test (server/tests/agones.rs) needs, when absent:
# - protoc (Debian's protobuf-compiler): the agones crate's build script compiles the Agones SDK's
#   .proto files, and so does dummy-agones';
# - dummy-agones: a stand-alone fake Agones SDK server (the SDK's real gRPC on 9357, the
#   GameServer as YAML on GET /), which the test starts. Needs root for apt-get, as the other
#   install steps do.
set -euo pipefail
if ! command -v protoc >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq protobuf-compiler >/dev/null
fi
command -v protoc >/dev/null
if ! command -v dummy-agones >/dev/null; then
  cargo install dummy-agones --version 0.1.2 --locked
fi
command -v dummy-agones >/dev/null
