#!/usr/bin/env bash
# One test renders the statechart export in headless Chromium. On Debian, install it when missing
# (as root, or with sudo); elsewhere, say what is needed and let the test report it.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || [ -n "${CHROMIUM_BIN:-}" ]; then exit 0; fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: no chromium and no apt-get; install Chromium or set CHROMIUM_BIN" >&2
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "ensure-chromium: installing Debian's chromium for the export-rendering test" >&2
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq chromium >/dev/null
