"""The Procrastinate app: one Postgres-backed queue for all background work.

Each domain module declares its jobs on a ``procrastinate.Blueprint`` in its
``tasks.py``; they are registered here, under the module's namespace, so a job's name
(``"conversations:generate_reply"``) is stable and SQL functions can defer it by name in
the same transaction that stores the row it is about.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import procrastinate

from atende.ai import tasks as ai_tasks
from atende.channels import tasks as channel_tasks
from atende.channels.broadcasts import tasks as broadcast_tasks
from atende.conversations import privacy_tasks
from atende.conversations import tasks as conversation_tasks
from atende.conversations.contacts import tasks as contact_tasks
from atende.db.pool import Connection
from atende.identity import tasks as identity_tasks
from atende.knowledge import tasks as knowledge_tasks
from atende.mail import tasks as mail_tasks
from atende.webhooks import tasks as webhook_tasks

#: (namespace, blueprint) of every module that has jobs.
TASK_BLUEPRINTS: tuple[tuple[str, procrastinate.Blueprint], ...] = (
    ("identity", identity_tasks.blueprint),
    ("conversations", conversation_tasks.blueprint),
    ("conversations", privacy_tasks.blueprint),
    ("channels", channel_tasks.blueprint),
    ("channels", broadcast_tasks.blueprint),
    ("mail", mail_tasks.blueprint),
    ("webhooks", webhook_tasks.blueprint),
    ("knowledge", knowledge_tasks.blueprint),
    ("ai", ai_tasks.blueprint),
    ("contacts", contact_tasks.blueprint),
)


def create_queue_app(
    blueprints: tuple[tuple[str, procrastinate.Blueprint], ...] = TASK_BLUEPRINTS,
) -> procrastinate.App:
    """The app, with no pool yet: processes open it on their own pool (``open_async(pool)``)."""
    app = procrastinate.App(connector=procrastinate.PsycopgConnector())
    for namespace, blueprint in blueprints:
        app.add_tasks_from(blueprint, namespace=namespace)
    return app


app = create_queue_app()


async def defer_job(
    conn: Connection,
    task_name: str,
    args: Mapping[str, Any],
    *,
    queue: str = "default",
    lock: str | None = None,
    queueing_lock: str | None = None,
    scheduled_at: datetime | None = None,
    reschedule: bool = False,
) -> int | None:
    """Defer a job inside the caller's transaction, so the job commits with its rows.

    Returns the job id, or ``None`` when a job with the same ``queueing_lock`` is already
    waiting (then, with ``reschedule``, that job is pushed to ``scheduled_at``).
    """
    row = await (
        await conn.execute(
            "select private.defer_job(%s, %s::jsonb, %s, %s, %s, %s, %s) as job_id",
            [
                task_name,
                json.dumps(dict(args)),
                queue,
                lock,
                queueing_lock,
                scheduled_at,
                reschedule,
            ],
        )
    ).fetchone()
    return None if row is None or row["job_id"] is None else int(row["job_id"])
