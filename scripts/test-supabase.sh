#!/usr/bin/env bash
# make test-supabase: Atende on a database shaped like a new Supabase project's.
#
# Builds that database from Supabase's own published SQL (../shared/supabase-shape, or the
# folder SUPABASE_SHAPE_DIR names; nothing of it is copied here), migrates it with
# `atende db migrate` connected as `postgres` (not a superuser there, as on Supabase), then
# runs the pgTAP suite and the identity, ingest, AI-reply, inbox and knowledge tests against it
# (tests/supabase_shape.py), and stops the cluster whatever happened.
set -euo pipefail
cd "$(dirname "$0")/.."

shape=${SUPABASE_SHAPE_DIR:-../shared/supabase-shape}
if [ ! -f "$shape/build.sh" ]; then
    echo "no Supabase shape at $shape (set SUPABASE_SHAPE_DIR)" >&2
    exit 2
fi
shape=$(cd "$shape" && pwd)

# A data folder of our own; as root, the cluster runs as the postgres system user, who
# must be able to reach it.
work=$(mktemp -d -t atende-supabase-shape.XXXXXX)
chmod 755 "$work"
export SUPA_DIR="$work/cluster"
export SUPA_PORT=${SUPA_PORT:-$(.venv/bin/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
export SUPA_PG_BIN=${SUPA_PG_BIN:-${ATENDE_PG_BIN_DIR:-$(ls -d /usr/lib/postgresql/15/bin 2>/dev/null || pg_config --bindir)}}

stop() {
    bash "$shape/cluster.sh" stop >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap stop EXIT

echo "building the Supabase shape on 127.0.0.1:$SUPA_PORT ..."
bash "$shape/build.sh"

psql=("$SUPA_PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$SUPA_PORT")
# A copy of the new project's database for Atende, owned by postgres as on Supabase.
"${psql[@]}" -U supabase_admin -d postgres \
    -c "create database atende_template template supa_template owner postgres"

url="postgresql://postgres@127.0.0.1:$SUPA_PORT/atende_template"
# pgvector is not a trusted extension: on Supabase, `postgres` may create it only because
# the platform allows it (supautils' privileged extensions), which the shape lacks. Its
# superuser creates it where Supabase puts it, as enabling it in the dashboard would; the
# knowledge migration then finds it there.
"${psql[@]}" -U supabase_admin -d atende_template \
    -c "create extension if not exists vector with schema extensions"
DATABASE_URL=$url .venv/bin/atende db migrate
# pgTAP is not a trusted extension: the platform's superuser installs it, as Supabase
# does for the extensions it offers.
"${psql[@]}" -U supabase_admin -d atende_template \
    -c "create extension if not exists pgtap with schema extensions"

# Tests of the local identity provider's own work are left out: Supabase Auth keeps the
# users there (tests/conftest.py's settings use it).
TEST_ON_SUPABASE_SHAPE=$url .venv/bin/pytest -p no:cacheprovider -m "not faults and not local_identity" \
    tests/db/test_pgtap.py \
    tests/identity \
    tests/transports/twilio/test_inbound_webhook.py \
    tests/channels/test_ingest_batches.py \
    tests/conversations/test_replies.py \
    tests/conversations/test_reply_failures.py \
    tests/conversations/test_inbox.py \
    tests/conversations/test_takeover.py \
    tests/knowledge/test_documents.py \
    tests/knowledge/test_replies.py \
    "$@"
