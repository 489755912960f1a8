"""One queue for all background work: jobs commit with their rows, and the worker runs them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import procrastinate
import psycopg
import pytest

from atende.db.session import Caller, Database
from atende.dependencies import job_dependencies
from atende.queue import create_queue_app, defer_job
from atende.services import Services

blueprint = procrastinate.Blueprint()


@pytest.fixture(autouse=True)
def job_notes(database_url: str) -> None:
    """A table of this test database's own, for the job to leave a trace in."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("create table job_notes (note text not null)")
        conn.execute("grant insert, select on job_notes to service_role")


@blueprint.task(name="record", pass_context=True)
async def record(context: procrastinate.JobContext, note: str) -> None:
    database = job_dependencies(context).get(Database)
    async with database.transaction(Caller.service()) as conn:
        await conn.execute("insert into job_notes (note) values (%s)", [note])


async def _job_count(services: Services) -> int:
    # The queue's tables belong to the connecting role, not to any API role.
    async with services.database.pool.connection() as conn:
        row = await (
            await conn.execute("select count(*) as n from procrastinate.procrastinate_jobs")
        ).fetchone()
    assert row is not None
    return int(row["n"])


async def test_a_job_deferred_in_a_transaction_runs_in_the_worker(services: Services) -> None:
    app = create_queue_app((("tests", blueprint),))
    async with services.database.transaction(Caller.service()) as conn:
        job_id = await defer_job(conn, "tests:record", {"note": "made by a job"})
    assert job_id is not None

    async with app.open_async(services.database.pool):
        await app.run_worker_async(
            wait=False,
            additional_context={"dependencies": services.dependencies},
            install_signal_handlers=False,
        )

    async with services.database.pool.connection() as conn:
        row = await (await conn.execute("select note from job_notes")).fetchone()
        job = await (
            await conn.execute("select status::text from procrastinate.procrastinate_jobs")
        ).fetchone()
    assert row == {"note": "made by a job"}
    assert job == {"status": "succeeded"}


async def test_a_rolled_back_transaction_defers_nothing(services: Services) -> None:
    with pytest.raises(RuntimeError):
        async with services.database.transaction(Caller.service()) as conn:
            await defer_job(conn, "tests:record", {"note": "never"})
            raise RuntimeError("the row failed, so the job must go too")
    assert await _job_count(services) == 0


async def test_queueing_lock_keeps_one_waiting_job_and_slides_its_schedule(
    services: Services,
) -> None:
    first_time = datetime.now(UTC) + timedelta(seconds=3)
    later = first_time + timedelta(seconds=5)
    async with services.database.transaction(Caller.service()) as conn:
        first = await defer_job(
            conn, "tests:record", {"note": "a"}, queueing_lock="c1", scheduled_at=first_time
        )
        second = await defer_job(
            conn,
            "tests:record",
            {"note": "b"},
            queueing_lock="c1",
            scheduled_at=later,
            reschedule=True,
        )
    async with services.database.pool.connection() as conn:
        rows = await (
            await conn.execute("select id, scheduled_at from procrastinate.procrastinate_jobs")
        ).fetchall()
    assert first is not None
    assert second is None
    assert rows == [{"id": first, "scheduled_at": later}]
