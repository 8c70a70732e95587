"""``python -m interop.mosquitto.broker``: the throw-away broker an operator starts for a try-out. With
``--admin-user``/``--admin-password-file`` it admits nobody anonymously (the set-up ``vtn serve --mqtt-acl``
administers); without them it is anonymous, as documented."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import aiomqtt
import pytest

from interop.mosquitto.broker import BrokerError, install

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def broker_script(*args: str) -> Iterator[tuple[str, int]]:
    try:
        install()
    except BrokerError as error:
        pytest.skip(str(error))
    proc = subprocess.Popen([sys.executable, "-m", "interop.mosquitto.broker", *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("mqtt://"), (line, proc.stderr.read() if proc.stderr else "")
        host, port = line.removeprefix("mqtt://").rsplit(":", 1)
        yield host, int(port)
    finally:
        proc.terminate()
        proc.communicate(timeout=10)  # waits, and closes the pipes


async def test_with_an_administrator_the_broker_refuses_anonymous_clients_and_admits_the_administrator(
        tmp_path: Path) -> None:
    password = tmp_path / "admin.password"
    password.write_text("a-long-test-password\n")
    with broker_script("--admin-user", "vtn", "--admin-password-file", str(password)) as (host, port):
        with pytest.raises(aiomqtt.MqttError):
            async with aiomqtt.Client(host, port, protocol=aiomqtt.ProtocolVersion.V5):
                pass
        with pytest.raises(aiomqtt.MqttError):
            async with aiomqtt.Client(host, port, username="vtn", password="wrong",
                                      protocol=aiomqtt.ProtocolVersion.V5):
                pass
        async with aiomqtt.Client(host, port, username="vtn", password="a-long-test-password",
                                  protocol=aiomqtt.ProtocolVersion.V5) as admin:
            await admin.publish("probe", b"x")


async def test_without_an_administrator_the_broker_is_anonymous() -> None:
    with broker_script() as (host, port):
        async with aiomqtt.Client(host, port, protocol=aiomqtt.ProtocolVersion.V5) as anonymous:
            await anonymous.publish("probe", b"x")


@pytest.mark.parametrize(("args", "message"), [
    (["--admin-user", "vtn"], "--admin-user and --admin-password-file go together"),
    (["--admin-user", "vtn", "--admin-password-file", "/nonexistent/pw"], "--admin-password-file /nonexistent/pw"),
])
def test_an_incomplete_administrator_is_a_usage_error(args: list[str], message: str) -> None:
    out = subprocess.run([sys.executable, "-m", "interop.mosquitto.broker", *args], cwd=ROOT, capture_output=True,
                         text=True, timeout=30, check=False)
    assert out.returncode == 2
    assert message in out.stderr
