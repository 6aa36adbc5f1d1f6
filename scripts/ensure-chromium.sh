#!/bin/sh
# The browser tests (test/integration/dashboard.e2e.test.ts) drive Debian's Chromium through playwright-core.
# `npm test` runs this first: on a machine without it, install it when we can (root with apt-get),
# otherwise say exactly what is missing. Idempotent and quick when Chromium is already there.
set -eu
[ -x /usr/bin/chromium ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "test setup: installing Debian's chromium for the browser tests" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  exit 0
fi
echo "test setup: /usr/bin/chromium is missing; install it (Debian: sudo apt-get install -y chromium)" >&2
exit 1
