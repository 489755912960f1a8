#!/usr/bin/env bash
# Makes pgvector available to the PostgreSQL that Atende runs (the embedded cluster, the
# test suite's, the Supabase shape's), building it when missing.
#
# Debian has no postgresql-15-pgvector in the package lists CI reaches, so the vendored
# source (third_party/pgvector, v0.8.6) is built with PGXS against the installed server:
# the headers come from postgresql-server-dev-<major> (installed with apt, pinned to the
# server's own version when that version is still served), the build is portable
# (OPTFLAGS="": no -march=native, so a cluster copied to another machine still loads it)
# and skips LLVM bitcode (with_llvm=no: JIT inlining of vector functions is not needed).
#
# Needs root or passwordless sudo to install into the server's folders; otherwise it says
# what to install and fails. Does nothing when vector.control is already there (a
# distribution's package, a previous run).
set -euo pipefail
cd "$(dirname "$0")/.."

pg_bindir=${ATENDE_PG_BIN_DIR:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
if [ -z "$pg_bindir" ] || [ ! -x "$pg_bindir/postgres" ]; then
    pg_bindir=$(pg_config --bindir)
fi
major=$("$pg_bindir/postgres" --version | sed -E 's/[^0-9]*([0-9]+).*/\1/')
pg_config="$pg_bindir/pg_config"
[ -x "$pg_config" ] || pg_config=$(command -v pg_config)
sharedir=$("$pg_config" --sharedir 2>/dev/null || echo "/usr/share/postgresql/${major}")

if [ -f "$sharedir/extension/vector.control" ]; then
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    run=()
elif sudo -n true 2>/dev/null; then
    run=(sudo -n)
else
    cat >&2 <<MESSAGE
pgvector is not installed for PostgreSQL $major ($sharedir/extension/vector.control is missing),
and installing it needs root. Either run this again as root (or with passwordless sudo):
    scripts/ensure-pgvector.sh
or install your distribution's package (postgresql-$major-pgvector, from apt.postgresql.org
on Debian and Ubuntu), or point ATENDE_PG_BIN_DIR at a PostgreSQL that has pgvector.
MESSAGE
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt_install() {
    "${run[@]}" apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1 || {
        "${run[@]}" apt-get update -qq >/dev/null
        "${run[@]}" apt-get install -y -qq --no-install-recommends "$@" >/dev/null
    }
}

packages=()
if [ ! -f "$("$pg_config" --pgxs 2>/dev/null || echo /nonexistent)" ] \
    || [ ! -f "$("$pg_config" --includedir-server)/postgres.h" ]; then
    # The server's own version when it is still served, so apt upgrades nothing else.
    server_version=$(dpkg-query -W -f='${Version}' "postgresql-$major" 2>/dev/null || true)
    packages+=("postgresql-server-dev-$major${server_version:+=$server_version}")
fi
command -v make >/dev/null || packages+=(make)
command -v gcc >/dev/null || packages+=(gcc libc6-dev)
if [ ${#packages[@]} -gt 0 ]; then
    echo "installing ${packages[*]} to build pgvector ..."
    apt_install "${packages[@]}" || {
        # That exact version is no longer served: take the current one.
        unpinned=("${packages[@]/=*/}")
        apt_install "${unpinned[@]}"
    }
fi

build=$(mktemp -d -t atende-pgvector.XXXXXX)
trap 'rm -rf "$build"' EXIT
cp -R third_party/pgvector/. "$build"
echo "building pgvector $(sed -nE "s/^default_version = '(.*)'/\1/p" "$build/vector.control") for PostgreSQL $major ..."
make -s -C "$build" PG_CONFIG="$pg_config" OPTFLAGS="" with_llvm=no >"$build/build.log" 2>&1 || {
    tail -n 30 "$build/build.log" >&2
    exit 1
}
"${run[@]}" make -s -C "$build" PG_CONFIG="$pg_config" OPTFLAGS="" with_llvm=no install >/dev/null
echo "pgvector installed in $sharedir/extension"
