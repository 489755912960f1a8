"""Identity jobs: the upkeep that finishes what failed flows could not.

Every few minutes: delete the users whose registration or invitation died or gave up
before its compensation could delete them (see ``IdentityService.delete_abandoned_users``),
purge sessions that have been dead for a week, account tokens (verification and reset
links) expired for a week, and the rate limits' counters of windows that have ended.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import procrastinate

from atende.dependencies import job_dependencies
from atende.identity.rate_limits import purge_rate_limits
from atende.identity.service import IdentityService

logger = logging.getLogger("atende.identity.tasks")

blueprint = procrastinate.Blueprint()

#: Revoked or expired sessions are kept this long (for support questions), then purged.
DEAD_SESSION_RETENTION = timedelta(days=7)


@blueprint.periodic(cron="*/5 * * * *", periodic_id="identity-upkeep")
@blueprint.task(name="upkeep", pass_context=True, queueing_lock="identity:upkeep")
async def upkeep(context: procrastinate.JobContext, timestamp: int) -> None:
    await run_upkeep(job_dependencies(context).get(IdentityService))


async def run_upkeep(identity: IdentityService) -> tuple[int, int, int]:
    """(users deleted, sessions purged, rate-limit counters purged)."""
    deleted = await identity.delete_abandoned_users()
    purged = await identity.sessions.purge(DEAD_SESSION_RETENTION)
    await identity.purge_account_tokens(DEAD_SESSION_RETENTION)
    counters = await purge_rate_limits(identity.database)
    if deleted or purged:
        logger.info(
            "identity upkeep: %d abandoned user(s) deleted, %d session(s) purged", deleted, purged
        )
    return deleted, purged, counters
