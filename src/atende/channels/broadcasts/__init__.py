"""Broadcasts: one approved template sent to many contacts of a channel, at its pace
(``service``: the team's calls and the job's pacing; ``tasks``: the job; ``types`` and
``mutations``: the GraphQL)."""
