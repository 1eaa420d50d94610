"""Consumer-group members that misbehave on purpose, for fault tests.

`StalledMember` joins and then stalls mid-rebalance: it keeps heartbeating but never sends
SyncGroup, as a worker does whose partition-revoke step is stuck (an insert that
does not return, a hung host). The first member of a group leads it, and a group's rebalance
cannot finish without its leader's SyncGroup.

Apache Kafka removes such a member once its rebalance timeout has passed; Tansu 0.6.0 ignores
the rebalance timeout, so the group waits as long as the member heartbeats. When it stops
heartbeating (stop() here, or a process that died), the broker expires it after the session
timeout and the group forms again.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiokafka.client import AIOKafkaClient
from aiokafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor
from aiokafka.coordinator.protocol import ConsumerProtocol, ConsumerProtocolMemberMetadata
from aiokafka.errors import for_code
from aiokafka.protocol.group import HeartbeatRequest, JoinGroupRequest

# The group's coordinator type in FindCoordinator (1 would be a transaction coordinator).
_GROUP = 0


class StalledMember:
    """`assignor`: the name of the partition assignor the group's members use (aiokafka's
    default "roundrobin"; Faust's own is "faust"): a member offering another is refused."""

    def __init__(
        self,
        bootstrap: str,
        group: str,
        topic: str,
        session_seconds: float,
        assignor: str = RoundRobinPartitionAssignor.name,
    ) -> None:
        self.bootstrap, self.group, self.topic = bootstrap, group, topic
        self.assignor = assignor
        self.session_ms = int(session_seconds * 1000)
        self.member_id = ""
        self.joined = threading.Event()
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self, timeout: float = 30.0) -> StalledMember:
        """Join (as the group's first member, its leader) and start heartbeating."""
        self._thread.start()
        if not self.joined.wait(timeout):
            raise AssertionError(f"the stalled member did not join {self.group}: {self._error}")
        return self

    def stop(self) -> None:
        """Stop heartbeating, without LeaveGroup: the broker expires the member."""
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        try:
            asyncio.run(self._member())
        except BaseException as exc:  # noqa: BLE001 - reported by start()
            self._error = exc

    async def _member(self) -> None:
        async with _coordinator_of(self.bootstrap, self.group) as (client, coordinator):
            generation = await self._join(client, coordinator)
            self.joined.set()
            while not self._stop.is_set():
                await client.send(
                    coordinator, HeartbeatRequest(self.group, generation, self.member_id)
                )
                await asyncio.sleep(1.0)

    async def _join(self, client: AIOKafkaClient, coordinator: int) -> int:
        """JoinGroup, once more with the member id the broker hands out; the generation."""
        for _ in range(3):
            response = await client.send(
                coordinator,
                _join_request(
                    self.group, self.topic, self.session_ms, self.assignor, self.member_id
                ),
            )
            self.member_id = response.member_id
            if response.error_code == 0:
                return int(response.generation_id)
        raise for_code(response.error_code)()


def join_once(bootstrap: str, group: str, topic: str, session_seconds: float) -> None:
    """A new member's first JoinGroup and nothing more: the broker adds the member, so the
    group starts forming, and expires it after the session timeout."""

    async def join() -> None:
        async with _coordinator_of(bootstrap, group) as (client, coordinator):
            session_ms = int(session_seconds * 1000)
            await client.send(
                coordinator,
                _join_request(group, topic, session_ms, RoundRobinPartitionAssignor.name, ""),
            )

    asyncio.run(join())


@asynccontextmanager
async def _coordinator_of(bootstrap: str, group: str) -> AsyncIterator[tuple[AIOKafkaClient, int]]:
    """A client and the node id of the group's coordinator; the client is closed after."""
    client = AIOKafkaClient(bootstrap_servers=bootstrap)
    await client.bootstrap()
    try:
        yield client, await client.coordinator_lookup(_GROUP, group)
    finally:
        await client.close()


def _join_request(
    group: str, topic: str, session_ms: int, assignor: str, member_id: str
) -> JoinGroupRequest:
    # Only a group's leader reads its members' metadata.
    metadata = ConsumerProtocolMemberMetadata(0, [topic], b"").encode()
    return JoinGroupRequest(
        group,
        session_ms,
        session_ms,
        member_id,
        None,
        ConsumerProtocol.PROTOCOL_TYPE,
        [(assignor, metadata)],
    )
