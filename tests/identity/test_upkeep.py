"""The identity upkeep job, run by a real worker."""

from __future__ import annotations

import psycopg
from pydantic import SecretStr

from atende.db.session import Caller
from atende.identity.models import NewUser
from atende.queue import app as queue_app
from atende.queue import defer_job
from atende.services import Services
from tests.identity.faults import age_pending_users
from tests.identity.state import NOTHING, identity_rows


def test_the_upkeep_job_is_scheduled() -> None:
    assert "identity:upkeep" in queue_app.tasks
    periodic = [
        task
        for task in queue_app.periodic_registry.periodic_tasks.values()
        if task.task.name.startswith("identity:")
    ]
    assert [(task.task.name, task.cron) for task in periodic] == [
        ("identity:upkeep", "*/5 * * * *")
    ]


async def test_the_worker_deletes_abandoned_users_and_purges_dead_sessions(
    services: Services, database_url: str
) -> None:
    identity = services.identity
    user_id = await identity._reserve_user("dona.maria@example.com", "registration")
    await services.identity_provider.create_user(
        NewUser(
            id=user_id,
            email="dona.maria@example.com",
            password=SecretStr("pão-de-queijo-42"),
            full_name="Maria",
            email_confirmed=True,
        )
    )
    async with services.database.transaction(Caller.service()) as conn:
        session = await identity.sessions.start(
            conn, user_id=user_id, email="dona.maria@example.com"
        )
    await identity.sessions.revoke(session.session_id, user_id=user_id)
    age_pending_users(database_url)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("update private.sessions set revoked_at = now() - interval '8 days'")

    async with services.database.transaction(Caller.service()) as conn:
        await defer_job(conn, "identity:upkeep", {"timestamp": 0})
    async with queue_app.open_async(services.database.pool):
        await queue_app.run_worker_async(
            wait=False,
            additional_context={"dependencies": services.dependencies},
            install_signal_handlers=False,
        )

    async with services.database.pool.connection() as conn:
        job = await (
            await conn.execute("select status::text from procrastinate.procrastinate_jobs")
        ).fetchone()
    assert job == {"status": "succeeded"}
    assert await identity_rows(services) == NOTHING
