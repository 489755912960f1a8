#!/usr/bin/env bash
# Makes Debian's Chromium available to the web app's browser tests (Playwright drives it:
# web/playwright.config.ts; its own browser builds are never downloaded).
#
# CHROMIUM_PATH, when set, names the browser to use instead. As root (CI) or with
# passwordless sudo: `apt-get install chromium` when missing. Otherwise: says how.
set -euo pipefail

browser=${CHROMIUM_PATH:-/usr/bin/chromium}
if [ -x "$browser" ]; then
    exit 0
fi

apt_install() {
    local -a run=("$@")
    export DEBIAN_FRONTEND=noninteractive
    "${run[@]}" apt-get install -y -qq chromium >/dev/null 2>&1 || {
        "${run[@]}" apt-get update -qq >/dev/null
        "${run[@]}" apt-get install -y -qq chromium >/dev/null
    }
}

if [ "$(id -u)" -eq 0 ]; then
    echo "installing chromium (Debian's package) for the browser tests ..."
    apt_install
elif sudo -n true 2>/dev/null; then
    echo "installing chromium (Debian's package, with sudo) for the browser tests ..."
    apt_install sudo -n
else
    echo "The browser tests need Chromium: run 'sudo apt-get install chromium'," >&2
    echo "or set CHROMIUM_PATH to a Chromium or Chrome binary." >&2
    exit 1
fi
"$browser" --version
