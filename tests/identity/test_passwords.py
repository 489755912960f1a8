"""Password hashes are Supabase Auth's: bcrypt, $2a$, cost 10; $2b$ verifies too."""

from __future__ import annotations

import os
import threading

import bcrypt

from atende.identity.passwords import HASH_THREAD_NICENESS, PasswordHasher


async def test_hashes_are_bcrypt_2a_at_cost_10_and_verify() -> None:
    hasher = PasswordHasher()

    hashed = await hasher.hash("pão-de-queijo-42")

    assert hashed.startswith("$2a$10$")
    assert len(hashed) == 60
    assert await hasher.verify("pão-de-queijo-42", hashed)
    assert not await hasher.verify("pão-de-queijo-43", hashed)


async def test_2b_hashes_and_hashes_made_elsewhere_verify() -> None:
    made_by_python_bcrypt = bcrypt.hashpw(b"senha-antiga-1", bcrypt.gensalt(10)).decode()
    assert made_by_python_bcrypt.startswith("$2b$")

    assert await PasswordHasher().verify("senha-antiga-1", made_by_python_bcrypt)


async def test_no_hash_or_a_broken_hash_matches_nothing() -> None:
    hasher = PasswordHasher()

    for stored in (None, "", "$2a$10$broken", "plain-text-password"):
        assert not await hasher.verify("plain-text-password", stored)


async def test_passwords_longer_than_bcrypt_reads_are_compared_on_what_it_reads() -> None:
    hasher = PasswordHasher()
    hashed = await hasher.hash("x" * 72)

    assert await hasher.verify("x" * 80, hashed)


async def test_hashing_threads_yield_the_cpu_to_the_rest_of_the_process() -> None:
    hasher = PasswordHasher(cost=4, max_workers=1)
    try:
        niceness = await hasher._run(
            lambda: os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        )
    finally:
        hasher.close()

    process = os.getpriority(os.PRIO_PROCESS, 0)
    assert niceness == min(19, process + HASH_THREAD_NICENESS)
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == process
