"""Where the SQL that ships with Atende lives: in the wheel, or in the source checkout."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_CHECKOUT = _PACKAGE.parents[1]


def _first_existing(*candidates: Path) -> Path:
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"none of these folders exist: {', '.join(map(str, candidates))}")


def migrations_dir() -> Path:
    """``supabase/migrations``: the files both ``atende db migrate`` and the Supabase CLI apply."""
    return _first_existing(
        _PACKAGE / "_resources" / "migrations", _CHECKOUT / "supabase" / "migrations"
    )


def sql_dir() -> Path:
    """``sql/``: the named queries the Python layer runs."""
    return _first_existing(_PACKAGE / "_resources" / "sql", _CHECKOUT / "sql")


def seed_file() -> Path | None:
    """``supabase/seed.sql`` when running from a checkout (local data for ``make dev``)."""
    candidate = _CHECKOUT / "supabase" / "seed.sql"
    return candidate if candidate.is_file() else None


def web_dist_dir() -> Path:
    """``web/dist``: the team's web app and GraphiQL as ``npm run build`` makes them (the
    folder may not exist: ``make dev`` and ``make test`` build it)."""
    packaged = _PACKAGE / "_resources" / "web"
    return packaged if packaged.is_dir() else _CHECKOUT / "web" / "dist"
