#!/usr/bin/env bash
# Runs every test: lint, then pytest against a real Kafka broker (started by the test session
# unless KAFKA_BOOTSTRAP_SERVERS is set) and a real PostgreSQL (started here unless
# BATCHGPT_TEST_POSTGRES_URL is set).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin

if [ -z "${BATCHGPT_TEST_POSTGRES_URL:-}" ]; then
  line=$($BIN/python scripts/local_postgres.py start)
  export "${line?}"
fi
echo "PostgreSQL for tests: $BATCHGPT_TEST_POSTGRES_URL"

$BIN/ruff check .
$BIN/mypy
started=$(date +%s)
set +e
$BIN/python -m pytest "$@"
rc=$?
set -e
echo "test suite took $(( $(date +%s) - started ))s"
exit $rc
