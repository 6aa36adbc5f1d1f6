#!/bin/sh
# The ops-kit tests (test/integration/ops-kit.test.ts) run promtool over deploy/prometheus/alerts.yml
# and its rule tests. `npm test` runs this first, like ensure-chromium.sh: on a machine without it,
# install Debian's prometheus package (which ships promtool) when we can, otherwise say what is missing.
set -eu
command -v promtool >/dev/null 2>&1 && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "test setup: installing Debian's prometheus (promtool) for the alerting-rule tests" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  exit 0
fi
echo "test setup: promtool is missing; install it (Debian: sudo apt-get install -y prometheus)" >&2
exit 1
