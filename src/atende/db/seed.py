"""Loads ``supabase/seed.sql``: the local data ``make dev`` starts with."""

from __future__ import annotations

import psycopg

from atende.resources import seed_file


def load_seed(conninfo: str) -> bool:
    """Run the seed file in one transaction; ``False`` when there is none."""
    path = seed_file()
    if path is None:
        return False
    text = path.read_text()
    with psycopg.connect(conninfo) as conn:
        conn.execute(text)
    return True
