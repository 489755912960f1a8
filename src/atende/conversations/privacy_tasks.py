"""Retention's jobs (``atende.conversations.privacy``), in the upkeep queue.

* ``conversations:delete_expired_messages`` (every 15 minutes): messages, AI runs and
  webhook deliveries past their organization's ``message_retention_days``, in batches of
  500 rows per transaction.
* ``conversations:delete_media_files`` (deferred by the SQL that deleted the messages,
  in its transaction, and hourly for whatever a failed run left): their stored files.
* ``conversations:compact_usage_counters`` (hourly): folds the usage counters.
* ``conversations:maintain_message_partitions`` (daily): the coming months' partitions
  of messages made, the old empty ones (emptied by retention) dropped.

Each is set-based and safe to run twice or side by side (see the SQL functions).
"""

from __future__ import annotations

import procrastinate

from atende.conversations.privacy import Upkeep
from atende.db.session import Database
from atende.dependencies import job_dependencies
from atende.media.storage import MediaStorage

UPKEEP_QUEUE = "upkeep"

blueprint = procrastinate.Blueprint()


def _upkeep(context: procrastinate.JobContext) -> Upkeep:
    dependencies = job_dependencies(context)
    return Upkeep(
        dependencies.get(Database),
        dependencies.get(MediaStorage),  # type: ignore[type-abstract]
    )


@blueprint.periodic(cron="*/15 * * * *", periodic_id="every_15_minutes")
@blueprint.task(
    name="delete_expired_messages",
    queue=UPKEEP_QUEUE,
    queueing_lock="upkeep:delete_expired_messages",
    pass_context=True,
)
async def delete_expired_messages(context: procrastinate.JobContext, timestamp: int) -> None:
    await _upkeep(context).delete_expired_messages()


@blueprint.task(
    name="delete_media_files",
    queue=UPKEEP_QUEUE,
    queueing_lock="upkeep:delete_media_files",
    pass_context=True,
)
async def delete_media_files(context: procrastinate.JobContext) -> None:
    await _upkeep(context).delete_media_files()


@blueprint.periodic(cron="23 * * * *", periodic_id="hourly")
@blueprint.task(
    name="sweep_media_files",
    queue=UPKEEP_QUEUE,
    queueing_lock="upkeep:sweep_media_files",
    pass_context=True,
)
async def sweep_media_files(context: procrastinate.JobContext, timestamp: int) -> None:
    await _upkeep(context).delete_media_files()


@blueprint.periodic(cron="29 * * * *", periodic_id="hourly")
@blueprint.task(
    name="compact_usage_counters",
    queue=UPKEEP_QUEUE,
    queueing_lock="upkeep:compact_usage_counters",
    pass_context=True,
)
async def compact_usage_counters(context: procrastinate.JobContext, timestamp: int) -> None:
    await _upkeep(context).compact_usage_counters()


@blueprint.periodic(cron="41 3 * * *", periodic_id="daily")
@blueprint.task(
    name="maintain_message_partitions",
    queue=UPKEEP_QUEUE,
    queueing_lock="upkeep:maintain_message_partitions",
    pass_context=True,
)
async def maintain_message_partitions(context: procrastinate.JobContext, timestamp: int) -> None:
    await _upkeep(context).maintain_message_partitions()
