#!/usr/bin/env bash
# Runs the whole test suite: unit, storage (SQLite and PostgreSQL), and
# end-to-end tests over HTTP and gRPC. Starts PostgreSQL and Redis first
# where they are not running.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/ensure-services.sh

export TEST_POSTGRES_URL="${TEST_POSTGRES_URL:-postgres://postgres:postgres@127.0.0.1:5432/postgres}"
export IDENTITY_TEST_POSTGRES_URL="${IDENTITY_TEST_POSTGRES_URL:-$TEST_POSTGRES_URL}"
export TEST_REDIS_URL="${TEST_REDIS_URL:-redis://127.0.0.1:6379}"

cargo test --workspace --locked "$@"
