"""Per-party MQTT credentials and access control, kept by the VTN in Mosquitto's Dynamic Security plugin.

A broker that runs the plugin (``plugin mosquitto_dynamic_security.so``, anonymous access off) starts with
one client, the plugin's administrator. The VTN's MQTT bridge logs in as that client and, through the
plugin's control topic (``$CONTROL/dynamic-security/v1``), keeps:

* a role for itself: read every party's request topic, write reply, notice and quote topics of its market;
* a client per registered party — user name the party id, password the registration's bearer token — with
  a role that lets it write only its own request topic and read only its own reply and notice topics and
  the market's public quotes. A subscription to anything else (``#``, another party's notices) is refused
  by the broker, and a publication elsewhere is dropped;
* nothing for parties whose registration was cancelled: their client is deleted (the broker disconnects
  them).

It is synchronised at every (re)connection of the bridge from the VTN's active registrations and then kept
in step by :meth:`VtnService.watch_registrations`. A party therefore registers over HTTP(S) first (a broker
that admits nobody anonymously has no topic an unregistered device could use) and then connects with
``MqttTransport(..., username=PARTY, password=TOKEN, party=PARTY)``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import aiomqtt

from transactive.transport.mqtt import (
    TOPIC_ROOT,
    notices_topic,
    quotes_topic,
    reply_prefix,
    request_filter,
    request_topic,
    segment,
)

__all__ = ["CONTROL", "RESPONSES", "DynamicSecurity", "DynamicSecurityError"]

log = logging.getLogger("transactive.vtn.mqtt")

#: the plugin's control topic, and where it answers
CONTROL = "$CONTROL/dynamic-security/v1"
RESPONSES = CONTROL + "/response"
#: commands per control message (a large market is synchronised in batches)
BATCH = 200


class DynamicSecurityError(RuntimeError):
    """The plugin refused a command (or did not answer)."""


def _acl(acltype: str, topic: str) -> dict[str, Any]:
    return {"acltype": acltype, "topic": topic, "allow": True}


class DynamicSecurity:
    """The bridge's view of the plugin for one market (see the module docstring)."""

    def __init__(self, market: str, *, timeout: float = 10.0) -> None:
        self.market = market
        self.timeout = timeout
        #: batches sent and not yet answered, by their correlation data (every administrator connected to the
        #: broker receives every answer of the plugin: the VTN's OpenADR 3 notifier sends commands too)
        self._waiting: dict[str, asyncio.Future[list[dict[str, Any]]]] = {}
        #: parties whose client this bridge has created or refreshed (for tests and the log)
        self.parties: set[str] = set()
        #: the bridge's own role was granted by this object
        self.granted = False

    def role_of(self, party: str) -> str:
        return f"transactive-{segment(self.market)}-party-{segment(party)}"

    @property
    def vtn_role(self) -> str:
        return f"transactive-{segment(self.market)}-vtn"

    def party_acls(self, party: str) -> list[dict[str, Any]]:
        return [
            _acl("publishClientSend", request_topic(self.market, party)),
            _acl("subscribePattern", reply_prefix(self.market, party) + "#"),
            _acl("subscribePattern", notices_topic(self.market, party)),
            _acl("subscribePattern", quotes_topic(self.market)),
        ]

    def vtn_acls(self) -> list[dict[str, Any]]:
        base = f"{TOPIC_ROOT}/{segment(self.market)}"
        return [
            _acl("subscribePattern", request_filter(self.market)),
            _acl("publishClientSend", f"{base}/reply/#"),
            _acl("publishClientSend", f"{base}/notices/#"),
            _acl("publishClientSend", quotes_topic(self.market)),
        ]

    # -- talking to the plugin -----------------------------------------------------------------------

    def receive(self, message: aiomqtt.Message) -> bool:
        """Take the plugin's answer if ``message`` is one (True), for the bridge's message loop."""
        if message.topic.value != RESPONSES:
            return False
        try:
            payload = message.payload if isinstance(message.payload, bytes) else b"{}"
            responses = list(json.loads(payload).get("responses", []))
        except (ValueError, AttributeError, TypeError):
            return True  # nobody's answer can be told from it; the one waiting for it times out
        batch = str(responses[0].get("correlationData")) if responses and isinstance(responses[0], dict) else ""
        future = self._waiting.pop(batch, None)  # (another administrator's answer: not ours)
        if future is not None and not future.done():
            future.set_result(responses)
        return True

    def abandon(self, error: BaseException) -> None:
        """The connection is gone: every command still waiting for its answer fails with ``error``."""
        waiting, self._waiting = self._waiting, {}
        for future in waiting.values():
            if not future.done():
                future.set_exception(error)

    async def _run(self, client: aiomqtt.Client, commands: Sequence[dict[str, Any]], *,
                   qos: int = 1) -> list[dict[str, Any]]:
        """Send ``commands`` in one control message; the plugin's answers, in order. Each command carries the
        batch's ``correlationData``, which the plugin copies into its answers."""
        future: asyncio.Future[list[dict[str, Any]]] = asyncio.get_running_loop().create_future()
        batch = uuid.uuid4().hex
        self._waiting[batch] = future
        stamped = [{**command, "correlationData": batch} for command in commands]
        try:
            await client.publish(CONTROL, json.dumps({"commands": stamped}).encode(), qos=qos)
            return await asyncio.wait_for(future, self.timeout)
        except TimeoutError:
            raise DynamicSecurityError(f"the Dynamic Security plugin did not answer within {self.timeout:g} s "
                                       "(is it loaded, and is the bridge its administrator?)") from None
        finally:
            self._waiting.pop(batch, None)

    async def run(self, client: aiomqtt.Client, commands: Sequence[dict[str, Any]], *,
                  tolerate: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        """Send ``commands`` (over ``client``, whose messages on :data:`RESPONSES` go to :meth:`receive`); all
        the answers, in order. A command that failed for a reason not in ``tolerate`` raises
        :class:`DynamicSecurityError`."""
        answers = await self._run(client, commands)
        self._check(answers, tolerate=tolerate)
        return answers

    @staticmethod
    def _check(responses: list[dict[str, Any]], *, tolerate: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        """The answers whose command failed for a reason not in ``tolerate`` raise."""
        failed = []
        for answer in responses:
            error = answer.get("error")
            if error and not any(word in str(error).lower() for word in tolerate):
                failed.append(f"{answer.get('command')}: {error}")
        if failed:
            raise DynamicSecurityError("; ".join(failed))
        return [a for a in responses if a.get("error")]

    # -- what the bridge asks for --------------------------------------------------------------------

    async def grant_self(self, connect: Callable[[str], aiomqtt.Client], own_username: str) -> None:
        """Make sure the bridge's own login has its role, over a connection of its own (``connect(client_id)``
        makes the client): the plugin logs out every connection of a login whose roles change, so the grant
        must not happen on the bridge's own connection."""
        client = connect(f"transactive-grant-{uuid.uuid4().hex}")
        await client.__aenter__()
        try:
            await client.subscribe(RESPONSES, qos=1)
            reader = asyncio.create_task(self._answers(client))
            try:
                [answer] = await self._run(client, [{"command": "getClient", "username": own_username}])
                if answer.get("error"):
                    raise DynamicSecurityError(f"getClient {own_username}: {answer['error']} (the bridge must log "
                                               "in as the Dynamic Security plugin's administrator)")
                roles = {r.get("rolename") for r in answer.get("data", {}).get("client", {}).get("roles", [])}
                if self.vtn_role in roles:
                    return
                self._check(await self._run(client, [
                    {"command": "createRole", "rolename": self.vtn_role, "acls": self.vtn_acls()}]),
                    tolerate=("already",))
                self.granted = True
                # the plugin logs this connection out as it grants (at QoS 0: no acknowledgement to wait for)
                with contextlib.suppress(aiomqtt.MqttError, DynamicSecurityError):
                    await self._run(client, [{"command": "addClientRole", "username": own_username,
                                              "rolename": self.vtn_role, "priority": 10}], qos=0)
                log.info("MQTT access control: role %s granted to %s", self.vtn_role, own_username)
            finally:
                reader.cancel()
                await asyncio.gather(reader, return_exceptions=True)
        finally:
            # after a grant the plugin has logged this connection out: no goodbye to wait for
            with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
                await asyncio.wait_for(client.__aexit__(None, None, None), 1.0)

    async def _answers(self, client: aiomqtt.Client) -> None:
        try:
            async for message in client.messages:
                self.receive(message)
        except aiomqtt.MqttError as error:
            self.abandon(error)

    async def setup(self, client: aiomqtt.Client, parties: Sequence[tuple[str, str]]) -> None:
        """At every connection of the bridge (its role granted, :meth:`grant_self`): a client for each active
        party, in batches."""
        await client.subscribe(RESPONSES, qos=1)
        for start in range(0, len(parties), BATCH // 2):
            await self._ensure(client, parties[start:start + BATCH // 2])
        log.info("MQTT access control: %d parties, each limited to its own topics", len(parties))

    async def _ensure(self, client: aiomqtt.Client, parties: Sequence[tuple[str, str]]) -> None:
        commands: list[dict[str, Any]] = []
        for party, token in parties:
            role = self.role_of(party)
            commands.append({"command": "createRole", "rolename": role, "acls": self.party_acls(party)})
            commands.append({"command": "createClient", "username": party, "password": token,
                             "roles": [{"rolename": role}]})
        answers = await self._run(client, commands)
        self._check(answers, tolerate=("already",))
        # the answers come in the order of the commands: clients that existed get their password and role
        # made sure of (which does not disconnect them)
        refresh: list[dict[str, Any]] = []
        for command, answer in zip(commands, answers, strict=False):
            if command["command"] == "createClient" and answer.get("error"):
                party = command["username"]
                refresh.append({"command": "setClientPassword", "username": party, "password": command["password"]})
                refresh.append({"command": "addClientRole", "username": party, "rolename": self.role_of(party)})
        if refresh:
            self._check(await self._run(client, refresh), tolerate=("already",))
        self.parties.update(party for party, _ in parties)

    async def party(self, client: aiomqtt.Client, party: str, token: str | None) -> None:
        """A registration (``token``) or a cancellation (None) of one party."""
        if token is not None:
            await self._ensure(client, [(party, token)])
            return
        self._check(await self._run(client, [
            {"command": "deleteClient", "username": party},
            {"command": "deleteRole", "rolename": self.role_of(party)},
        ]), tolerate=("not found",))
        self.parties.discard(party)
