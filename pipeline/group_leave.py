"""How the worker's consumer-group members leave their groups: a member that led its group's
last rebalance stops without LeaveGroup, and the broker expires it after the session timeout.

Why: on Tansu 0.6.0 (the local broker), a leader's LeaveGroup that lands while its group is
forming (another member has just joined, and the leader has not re-joined yet: up to one
heartbeat interval) removes the member but keeps it as the group's leader. Every other
member's SyncGroup then waits for that departed leader's assignment, for good: they re-join
every ~8 s with the same generation and own no partition until the broker restarts. A leader
whose session expires is replaced instead. Reproduced with two aiokafka consumers (issue 19)
and in tests/faults/test_group_membership.py.

The price, on any broker: the partitions of a worker that led its group and stopped move to
the others a session timeout later (`kafka_session_timeout_seconds`); a member that did not
lead still leaves at once. It covers both of the worker's groups (the ingest consumer's and
the Faust app's), whose members are aiokafka's GroupCoordinator, patched here once per process.
aiokafka is pinned in pyproject.toml; the fault test fails if a new version moves these hooks.
"""

from __future__ import annotations

import logging
import weakref
from typing import Any

from aiokafka.consumer.group_coordinator import GroupCoordinator

log = logging.getLogger(__name__)

# The generation each member (a GroupCoordinator) last led, while it lives.
_led: weakref.WeakKeyDictionary[GroupCoordinator, int] = weakref.WeakKeyDictionary()
_assign = GroupCoordinator._perform_assignment
_leave = GroupCoordinator._maybe_leave_group


async def _assign_as_leader(self: GroupCoordinator, response: Any) -> Any:
    # Only the leader a rebalance elects computes the assignment.
    _led[self] = response.generation_id
    return await _assign(self, response)


async def _leave_unless_leader(self: GroupCoordinator) -> None:
    if _led.get(self) == self.generation and self.generation >= 0:
        log.info(
            "leaving group %s by session expiry (%s s), not LeaveGroup: this member led its "
            "last rebalance (see pipeline/group_leave.py)",
            self.group_id,
            self._session_timeout_ms / 1000,
        )
        self.reset_generation()
        return
    await _leave(self)


def install() -> None:
    """Patch aiokafka's group member for this process (idempotent)."""
    GroupCoordinator._perform_assignment = _assign_as_leader  # type: ignore[method-assign]
    GroupCoordinator._maybe_leave_group = _leave_unless_leader  # type: ignore[method-assign]
