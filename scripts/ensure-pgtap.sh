#!/usr/bin/env bash
# Makes pgTAP available to the test cluster, installing it when missing.
#
# As root (CI) or with passwordless sudo: the Debian package postgresql-<major>-pgtap.
# Otherwise: the same package downloaded and unpacked into .atende/pgtap, whose SQL the
# test runner loads into each test database (tests/db/pgtap.py).
set -euo pipefail

pg_bindir=${ATENDE_PG_BIN_DIR:-$(pg_config --bindir 2>/dev/null || ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)}
major=$("$pg_bindir/postgres" --version | sed -E 's/[^0-9]*([0-9]+).*/\1/')
package="postgresql-${major}-pgtap"
sharedir=$("$pg_bindir/pg_config" --sharedir 2>/dev/null || echo "/usr/share/postgresql/${major}")

if ls "$sharedir"/extension/pgtap.control >/dev/null 2>&1; then
    exit 0
fi

apt_install() {
    local -a run=("$@")
    export DEBIAN_FRONTEND=noninteractive
    "${run[@]}" apt-get install -y -qq --no-install-recommends "$package" >/dev/null 2>&1 || {
        "${run[@]}" apt-get update -qq >/dev/null
        "${run[@]}" apt-get install -y -qq --no-install-recommends "$package" >/dev/null
    }
}

if [ "$(id -u)" -eq 0 ]; then
    echo "installing $package ..."
    apt_install
elif sudo -n true 2>/dev/null; then
    echo "installing $package with sudo ..."
    apt_install sudo -n
else
    target=.atende/pgtap
    if ! ls "$target"/usr/share/postgresql/*/extension/pgtap--*.sql >/dev/null 2>&1; then
        echo "no root: unpacking $package into $target ..."
        mkdir -p "$target/download"
        (cd "$target/download" && apt-get download "$package" >/dev/null)
        dpkg -x "$target"/download/*.deb "$target"
    fi
fi
