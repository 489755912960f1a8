"""The ``atende`` command."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, ParamSpec, TypeVar

import click
from pydantic import ValidationError

from atende.config import Settings, describe_settings_error
from atende.db.embedded import DEFAULT_DATABASE
from atende.db.migrations import apply_migrations, discover_migrations
from atende.db.pool import check_reachable, describe_target
from atende.errors import AtendeError
from atende.gc_tuning import tune_for_service
from atende.identity.provider_fit import check_identity_provider_fits
from atende.logs import configure_logging
from atende.services import database_url, embedded_postgres

if TYPE_CHECKING:
    from atende.channels.crypto import RotationReport

P = ParamSpec("P")
R = TypeVar("R")


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        raise click.ClickException(f"invalid settings: {describe_settings_error(error)}") from None


def reports_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn Atende's own errors into a one-line message and exit status 1."""

    @wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except AtendeError as error:
            raise click.ClickException(error.message) from None

    return wrapper


@click.group()
@click.version_option(package_name="atende")
def main() -> None:
    """Atende: an AI assistant on a business's WhatsApp number."""


# -- db ---------------------------------------------------------------------------------


@main.group()
def db() -> None:
    """Manage the database: the embedded cluster, or the one DATABASE_URL names."""


@db.command("start")
@reports_errors
def db_start() -> None:
    """Start the embedded Postgres (initialising it on first use)."""
    settings = load_settings()
    if not settings.uses_embedded_database:
        click.echo("DATABASE_URL is set: nothing to start.")
        return
    cluster = embedded_postgres(settings)
    cluster.start()
    click.echo(f"Postgres is running: {cluster.url()}")


@db.command("stop")
@reports_errors
def db_stop() -> None:
    """Stop the embedded Postgres."""
    settings = load_settings()
    if not settings.uses_embedded_database:
        click.echo("DATABASE_URL is set: nothing to stop.")
        return
    embedded_postgres(settings).stop()
    click.echo("Postgres stopped.")


@db.command("status")
@reports_errors
def db_status() -> None:
    """Say whether the database answers and which migrations are pending (exit 1 if down)."""
    settings = load_settings()
    url = database_url(settings)
    if settings.uses_embedded_database and not embedded_postgres(settings).is_running():
        click.echo(f"embedded Postgres is not running (data in {settings.data_dir})")
        sys.exit(1)
    asyncio.run(check_reachable(url, timeout=5))
    import psycopg

    from atende.db.migrations import pending_migrations

    with psycopg.connect(url) as conn:
        pending = pending_migrations(conn)
    click.echo(f"database {describe_target(url)} is up; {len(pending)} migration(s) pending")
    for migration in pending:
        click.echo(f"  pending: {migration.file_name}")


@db.command("url")
@reports_errors
def db_url() -> None:
    """Print the connection string of the database in use."""
    click.echo(database_url(load_settings()))


@db.command("migrate")
@reports_errors
def db_migrate() -> None:
    """Apply pending migrations, each in its own transaction."""
    settings = load_settings()
    url = _usable_database(settings)
    applied = apply_migrations(url)
    if not applied:
        click.echo("Database is up to date.")
    for migration in applied:
        click.echo(f"applied {migration.file_name}")


@db.command("reset")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@reports_errors
def db_reset(yes: bool) -> None:
    """Drop and recreate the embedded database, migrate it and load supabase/seed.sql."""
    settings = load_settings()
    if not settings.uses_embedded_database:
        raise click.ClickException(
            "db reset only manages the embedded database; for Supabase use `supabase db reset`"
        )
    if not yes:
        click.confirm(
            f"Delete every row in the embedded database {DEFAULT_DATABASE!r}?", abort=True
        )
    cluster = embedded_postgres(settings)
    cluster.start()
    cluster.drop_database(DEFAULT_DATABASE)
    cluster.create_database(DEFAULT_DATABASE)
    for migration in apply_migrations(cluster.url()):
        click.echo(f"applied {migration.file_name}")
    from atende.db.seed import load_seed

    if load_seed(cluster.url()):
        click.echo("loaded supabase/seed.sql")


def _usable_database(settings: Settings) -> str:
    """The database URL, starting the embedded cluster when that is the one in use."""
    if settings.uses_embedded_database:
        embedded_postgres(settings).start()
    url = database_url(settings)
    asyncio.run(check_reachable(url, timeout=10))
    return url


# -- processes --------------------------------------------------------------------------


@main.command()
@click.option("--host", default=None, help="Interface to bind (default ATENDE_HOST).")
@click.option("--port", type=int, default=None, help="Port to bind (default ATENDE_PORT).")
@reports_errors
def serve(host: str | None, port: int | None) -> None:
    """Run the API: GraphQL, webhooks, health checks."""
    import uvicorn

    from atende.app import create_app
    from atende.http import CoalescingHttpToolsProtocol

    settings = load_settings()
    configure_logging(settings)
    url = database_url(settings)
    asyncio.run(check_reachable(url, timeout=10))
    asyncio.run(check_identity_provider_fits(settings, url))
    app = create_app(settings)
    tune_for_service()
    uvicorn.run(
        app,
        host=host or settings.host,
        port=port or settings.port,
        log_config=None,
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
        ws="websockets-sansio",
        # One send per response instead of two (headers, then body).
        http=CoalescingHttpToolsProtocol,
    )


@main.command()
@click.option("--concurrency", type=int, default=None, help="Jobs run at once (default 10).")
@reports_errors
def worker(concurrency: int | None) -> None:
    """Run the Procrastinate worker: AI replies, sends, scheduled upkeep."""
    from atende.worker import run_worker

    settings = load_settings()
    configure_logging(settings)
    asyncio.run(check_reachable(database_url(settings), timeout=10))
    tune_for_service()
    asyncio.run(run_worker(settings, concurrency=concurrency))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", type=int, default=8020, show_default=True, help="Port to bind.")
@click.option(
    "--callback-delay",
    type=click.FloatRange(min=0),
    default=0.5,
    show_default=True,
    help="Seconds between a message's simulated status changes.",
)
@reports_errors
def simulator(host: str, port: int, callback_delay: float) -> None:
    """Run the Twilio simulator (point TWILIO_API_BASE_URL at it)."""
    from atende.devtools.twilio_simulator import run_simulator

    configure_logging(load_settings())
    run_simulator(host=host, port=port, callback_delay_seconds=callback_delay)


@main.command("mail-catcher")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", type=int, default=8025, show_default=True, help="Port of the web page.")
@click.option("--smtp-port", type=int, default=1025, show_default=True, help="Port of SMTP.")
@reports_errors
def mail_catcher(host: str, port: int, smtp_port: int) -> None:
    """Run the mail catcher: an SMTP server that keeps mails and shows them on a web page
    (point ATENDE_SMTP_URL at smtp://127.0.0.1:<smtp-port>)."""
    from atende.devtools.mail_catcher import run_mail_catcher

    configure_logging(load_settings())
    run_mail_catcher(host=host, port=port, smtp_port=smtp_port)


@main.command()
@click.option("--channel", "channel_number", required=True, help="The channel's number.")
@click.option("--from", "customer", required=True, help="The customer's number.")
@click.option("--name", default=None, help="The customer's WhatsApp profile name.")
@click.option(
    "--kind", type=click.Choice(["whatsapp", "sms"]), default=None, help="When both exist."
)
@click.option(
    "--simulator",
    "simulator_url",
    default=None,
    help="The Twilio simulator (default TWILIO_API_BASE_URL, else http://127.0.0.1:8020).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    default=30.0,
    show_default=True,
    help="Seconds to wait for replies.",
)
@click.option(
    "--media",
    "media_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A file the customer sends with TEXT (a photo, a voice note...); repeatable.",
)
@click.option(
    "--location",
    default=None,
    metavar="LAT,LON[,LABEL[,ADDRESS]]",
    help="A location the customer shares (TEXT is usually empty: WhatsApp sends none).",
)
@click.argument("text")
@reports_errors
def simulate(  # noqa: PLR0917 - one parameter per option, as click passes them
    channel_number: str,
    customer: str,
    name: str | None,
    kind: str | None,
    simulator_url: str | None,
    timeout: float,
    media_files: tuple[Path, ...],
    location: str | None,
    text: str,
) -> None:
    """Write TEXT to a channel as a customer would, and print the replies.

    Posts a signed webhook to ATENDE_PUBLIC_URL (start the product with `make dev`
    first) and reads the replies from the Twilio simulator.

    \b
    Exit status:
      0  a reply came (and was printed)
      1  no reply within --timeout, or the message could not be delivered
      3  no AI reply will come: the conversation is with the team (handed off, or its
         AI switched off), or the customer opted out; the command says which, at once
    """
    from atende.channels.phone import InvalidPhoneNumber, normalize_phone_number
    from atende.devtools.simulate import (
        DEFAULT_SIMULATOR_URL,
        NO_AI_REPLY_EXIT_CODE,
        find_channel,
        simulate_customer,
    )

    try:
        customer = normalize_phone_number(customer)
    except InvalidPhoneNumber:
        raise click.ClickException(f"{customer!r} is not a phone number") from None
    settings = load_settings()
    channel = find_channel(database_url(settings), settings, channel_number, kind)
    simulator = simulator_url or settings.twilio_api_base_url or DEFAULT_SIMULATOR_URL
    click.echo(f"{customer} -> {channel.phone_number} ({channel.kind}): {text}")

    def show(reply: dict[str, object]) -> None:
        content = reply.get("body") or f"[template {reply.get('content_sid')}]"
        media = reply.get("media_urls") or []
        click.echo(f"{channel.phone_number} -> {customer}: {content}")
        for url in media if isinstance(media, list) else []:
            click.echo(f"  media: {url}")

    conversation = asyncio.run(
        simulate_customer(
            channel,
            public_url=settings.public_url,
            simulator_url=simulator,
            customer=customer,
            body=text,
            profile_name=name,
            timeout=timeout,
            on_reply=show,
            database_url=database_url(settings),
            media=media_files,
            location=_shared_location(location),
        )
    )
    if conversation.no_ai_reply is not None:
        click.echo(conversation.no_ai_reply.explanation())
        sys.exit(NO_AI_REPLY_EXIT_CODE)
    if not conversation.replies:
        click.echo(f"(no reply within {timeout:.0f}s)")
        sys.exit(1)


def _shared_location(value: str | None) -> dict[str, str] | None:
    """``--location LAT,LON[,LABEL[,ADDRESS]]`` as the webhook's fields (the address may
    hold commas: everything after the label is the address)."""
    if value is None:
        return None
    parts = [part.strip() for part in value.split(",", 3)]
    try:
        float(parts[0])
        float(parts[1])
    except (IndexError, ValueError):
        raise click.BadParameter("use LAT,LON[,LABEL[,ADDRESS]]", param_hint="--location") from None
    keys = ("latitude", "longitude", "label", "address")
    return {key: part for key, part in zip(keys, parts, strict=False) if part}


@main.command("export-schema")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write to this file instead of standard output.",
)
def export_schema(output: Path | None) -> None:
    """Print the GraphQL schema (SDL) that schema.graphql holds."""
    from atende.api.schema import export_sdl

    sdl = export_sdl()
    if output is None:
        click.echo(sdl, nl=False)
    else:
        output.write_text(sdl)


@main.command()
@reports_errors
def dev() -> None:
    """Start everything for local development; Ctrl-C stops it all."""
    from atende.devserver import run_dev

    settings = load_settings()
    configure_logging(settings)
    run_dev(settings)


@main.command("demo-model")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", type=int, default=8030, show_default=True, help="Port to bind.")
@reports_errors
def demo_model(host: str, port: int) -> None:
    """Run the offline demo model: an OpenAI-compatible stand-in for demos without a key."""
    import uvicorn

    from atende.devtools.demo_model import create_demo_model_app

    configure_logging(load_settings())
    uvicorn.run(create_demo_model_app(), host=host, port=port, log_config=None, access_log=False)


@main.command("rotate-secrets")
@reports_errors
def rotate_secrets() -> None:
    """Re-encrypt every stored secret with ATENDE_SECRET_KEY (safe while Atende runs).

    Secrets made with a key in ATENDE_PREVIOUS_SECRET_KEYS (channels' Twilio tokens,
    webhook endpoints' signing secrets) are rewritten with the current key; run it again
    and it rewrites nothing. Exits 1, naming them, when a secret opens with none of the
    configured keys (the others are still rotated).
    """
    from atende.channels.crypto import TokenCipher
    from atende.channels.crypto import rotate_secrets as rotate
    from atende.db.pool import create_pool
    from atende.db.session import Database
    from atende.webhooks.service import rotate_endpoint_secrets

    settings = load_settings()
    url = _usable_database(settings)

    async def run() -> tuple[RotationReport, RotationReport]:
        pool = create_pool(url, min_size=0, max_size=1, name="atende-rotate-secrets")
        await pool.open(wait=True, timeout=10)
        try:
            database = Database(pool, statement_timeout_ms=settings.statement_timeout_ms)
            cipher = TokenCipher.from_settings(settings)
            return await rotate(database, cipher), await rotate_endpoint_secrets(database, cipher)
        finally:
            await pool.close()

    report, endpoints = asyncio.run(run())
    summary = (
        f"{report.reencrypted + endpoints.reencrypted} secret(s) re-encrypted with the"
        f" current key, {report.already_current + endpoints.already_current} already current"
    )
    if endpoints.unreadable:
        shown = ", ".join(str(endpoint) for endpoint in endpoints.unreadable[:5])
        more = len(endpoints.unreadable) - 5
        raise click.ClickException(
            f"cannot decrypt the signing secret of webhook endpoint {shown}"
            + (f" and {more} more" if more > 0 else "")
            + " with ATENDE_SECRET_KEY or ATENDE_PREVIOUS_SECRET_KEYS: add the key that made"
            f" it, or remove the endpoint and add it again ({summary})"
        )
    if report.unreadable:
        shown = ", ".join(str(channel) for channel in report.unreadable[:5])
        more = len(report.unreadable) - 5
        raise click.ClickException(
            f"cannot decrypt the Twilio auth token of channel {shown}"
            + (f" and {more} more" if more > 0 else "")
            + " with ATENDE_SECRET_KEY or ATENDE_PREVIOUS_SECRET_KEYS: add the key that"
            f" made it, or set a new token with updateChannel ({summary})"
        )
    click.echo(summary)


@main.group()
def knowledge() -> None:
    """The knowledge base's documents and passages."""


@knowledge.command("reindex")
@click.option(
    "--all", "everything", is_flag=True, help="Every document, not only those that need it."
)
@reports_errors
def knowledge_reindex(everything: bool) -> None:
    """Index documents again with the embedder ATENDE_EMBEDDINGS names.

    Queues the documents whose passages another embedder made (after ATENDE_EMBEDDINGS
    changed) and those whose indexing failed; with --all, every document. A running
    worker (`atende worker`, or `make dev`) does the work; until a document is done, its
    old passages are found by full-text search only.
    """
    from atende.db.pool import create_pool
    from atende.db.session import Database
    from atende.knowledge.embeddings import embedder_from_settings
    from atende.knowledge.service import Indexer

    settings = load_settings()
    url = _usable_database(settings)

    async def run() -> tuple[str, int]:
        pool = create_pool(url, min_size=0, max_size=1, name="atende-knowledge-reindex")
        await pool.open(wait=True, timeout=10)
        embedder = embedder_from_settings(settings)
        try:
            database = Database(pool, statement_timeout_ms=settings.statement_timeout_ms)
            indexer = Indexer(database=database, embedder=embedder)
            return embedder.name, await indexer.reindex(include_current=everything)
        finally:
            await embedder.close()
            await pool.close()

    name, queued = asyncio.run(run())
    click.echo(f"{queued} document(s) queued for indexing with {name}")


@main.command("migrations")
def list_migrations() -> None:
    """List the migration files in the order they apply."""
    for migration in discover_migrations():
        click.echo(migration.file_name)


if __name__ == "__main__":  # pragma: no cover
    logging.basicConfig()
    main()
