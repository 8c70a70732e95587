"""A throw-away Mosquitto broker on 127.0.0.1, for tests and demos (standard library only).

>>> with MosquittoBroker() as broker:          # doctest: +SKIP
...     print(broker.host, broker.port)         # 127.0.0.1 and a free port

The broker runs ``mosquitto -c <tmp>/mosquitto.conf`` with a generated config: one listener on
``127.0.0.1:<port>``, anonymous access, persistence off, TCP_NODELAY, log to ``<tmp>/mosquitto.log``. :meth:`stop` ends
exactly that process (terminate, then kill) and removes the directory; :meth:`start` may be called again
(same port), which tests use to take the broker down and bring it back. ``python -m
interop.mosquitto.broker [--port N]`` runs one in the foreground.

With ``tls=BrokerTls(cafile, certfile, keyfile)`` the listener speaks MQTT over TLS only (TLS 1.2 or later),
presenting ``certfile``; with ``require_certificate=True`` it also refuses clients without a certificate
signed by a CA in ``cafile``. ``extra_config`` adds lines to the configuration (e.g. an authentication
plugin and its options, or ``allow_anonymous false`` — a later line wins).

With ``admin=("name", "password")`` the broker authenticates every client through Mosquitto's Dynamic
Security plugin (``mosquitto_dynamic_security.so``, in Debian's mosquitto package): anonymous access is off,
``mosquitto_ctrl dynsec init`` creates the one client that exists at first (the plugin's administrator, who
may manage clients and roles over ``$CONTROL/dynamic-security/v1`` and nothing else), and everything else
is created at run time (the VTN's MQTT bridge does that, :mod:`transactive.vtn.mqtt_acl`).
"""

from __future__ import annotations

import argparse
import getpass
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from transactive.interop.loopback import free_port

__all__ = ["INSTALL_SCRIPT", "BrokerError", "BrokerTls", "MosquittoBroker", "find_dynsec_plugin", "find_mosquitto",
           "free_port", "install"]

INSTALL_SCRIPT = Path(__file__).resolve().parent / "install.sh"
_SEARCH = ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto", "/opt/homebrew/sbin/mosquitto")


class BrokerError(RuntimeError):
    """Mosquitto is missing, cannot be installed, or did not start."""


def find_mosquitto() -> str | None:
    """Path of the mosquitto binary (``$MOSQUITTO_BIN``, PATH, then the usual sbin directories)."""
    env = os.environ.get("MOSQUITTO_BIN")
    if env and os.access(env, os.X_OK):
        return env
    found = shutil.which("mosquitto")
    if found:
        return found
    return next((p for p in _SEARCH if os.access(p, os.X_OK)), None)


def find_dynsec_plugin() -> str | None:
    """Path of Mosquitto's Dynamic Security plugin (``$MOSQUITTO_DYNSEC``, then where packages put it)."""
    env = os.environ.get("MOSQUITTO_DYNSEC")
    if env and os.path.isfile(env):
        return env
    candidates = [*sorted(glob.glob("/usr/lib/*/mosquitto_dynamic_security.so")),
                  "/usr/lib/mosquitto_dynamic_security.so", "/usr/local/lib/mosquitto_dynamic_security.so"]
    return next((p for p in candidates if os.path.isfile(p)), None)


def install() -> str:
    """The mosquitto binary, installed by ``install.sh`` (apt-get) if missing; :class:`BrokerError` with the
    script's reason if that fails."""
    found = find_mosquitto()
    if found:
        return found
    result = subprocess.run(["sh", str(INSTALL_SCRIPT)], capture_output=True, text=True, check=False)
    found = result.stdout.strip().splitlines()[-1] if result.returncode == 0 and result.stdout.strip() else None
    if not found or not os.access(found, os.X_OK):
        reason = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "no binary"
        raise BrokerError(f"mosquitto could not be installed: {reason}")
    return found


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


@dataclass(frozen=True, slots=True)
class BrokerTls:
    """A TLS listener's files (PEM): the CA client certificates are checked against, the broker's own
    certificate (it must name 127.0.0.1 for clients that check the host) and key."""

    cafile: Path
    certfile: Path
    keyfile: Path
    #: refuse clients that present no certificate signed by a CA in ``cafile``
    require_certificate: bool = False

    def check(self) -> None:
        """:class:`BrokerError` naming a file that is not there (Mosquitto would only log it)."""
        for path in (self.cafile, self.certfile, self.keyfile):
            if not Path(path).is_file():
                raise BrokerError(f"{path}: no such file (a TLS listener needs it)")

    def config(self) -> list[str]:
        """The listener's mosquitto.conf lines."""
        return [
            f"cafile {Path(self.cafile).resolve()}",
            f"certfile {Path(self.certfile).resolve()}",
            f"keyfile {Path(self.keyfile).resolve()}",
            "tls_version tlsv1.2",  # the minimum (Mosquitto 2)
            f"require_certificate {'true' if self.require_certificate else 'false'}",
        ]


class MosquittoBroker:
    """One mosquitto process on ``127.0.0.1:port`` (a free port unless given); over TLS with ``tls``."""

    host = "127.0.0.1"

    def __init__(self, port: int | None = None, *, binary: str | None = None, startup_timeout: float = 5.0,
                 extra_config: Sequence[str] = (), tls: BrokerTls | None = None,
                 admin: tuple[str, str] | None = None) -> None:
        self.port = port or free_port(self.host)
        #: the Dynamic Security plugin's administrator (name, password); None: an anonymous broker
        self.admin = admin
        #: more mosquitto.conf lines (e.g. ``max_queued_messages 0``)
        self.extra_config = list(extra_config)
        self.tls = tls
        self.binary = binary or install()
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self.directory: Path | None = None

    @property
    def log_file(self) -> Path | None:
        return self.directory / "mosquitto.log" if self.directory else None

    def config(self, directory: Path) -> str:
        lines = [
            f"listener {self.port} {self.host}",
            *(self.tls.config() if self.tls is not None else ()),
            *(self._dynsec(directory) if self.admin is not None else ["allow_anonymous true"]),
            "persistence false",
            "set_tcp_nodelay true",
            f"log_dest file {directory / 'mosquitto.log'}",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
            "connection_messages true",
            *self.extra_config,
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            # mosquitto drops root privileges to `mosquitto`, who could not write the log in our directory
            lines.append(f"user {getpass.getuser()}")
        return "\n".join(lines) + "\n"

    def _dynsec(self, directory: Path) -> list[str]:
        """The Dynamic Security plugin's lines; its configuration file created with ``mosquitto_ctrl``."""
        assert self.admin is not None
        plugin = find_dynsec_plugin()
        ctrl = shutil.which("mosquitto_ctrl") or os.path.join(os.path.dirname(self.binary), "mosquitto_ctrl")
        if plugin is None or not os.access(ctrl, os.X_OK):
            raise BrokerError("Mosquitto's Dynamic Security plugin or mosquitto_ctrl is missing "
                              "(Debian: the mosquitto package has both)")
        config = directory / "dynamic-security.json"
        done = subprocess.run([ctrl, "dynsec", "init", str(config), *self.admin], capture_output=True, text=True,
                              check=False)
        if done.returncode != 0:
            raise BrokerError(f"mosquitto_ctrl dynsec init failed: {done.stderr.strip() or done.stdout.strip()}")
        return ["allow_anonymous false", f"plugin {plugin}", f"plugin_opt_config_file {config}"]

    def start(self) -> MosquittoBroker:
        """Start the broker and wait until it accepts connections."""
        if self.process is not None and self.process.poll() is None:
            return self
        if self.tls is not None:
            self.tls.check()
        self.directory = Path(tempfile.mkdtemp(prefix="mosquitto-"))
        conf = self.directory / "mosquitto.conf"
        conf.write_text(self.config(self.directory))
        self.process = subprocess.Popen([self.binary, "-c", str(conf)], stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                stderr = self.process.stderr.read().decode(errors="replace") if self.process.stderr else ""
                log = self.log_file.read_text() if self.log_file and self.log_file.exists() else ""
                self._cleanup()
                raise BrokerError(f"mosquitto exited at start ({stderr.strip() or log.strip()})")
            if _listening(self.host, self.port):
                return self
            time.sleep(0.02)
        self.stop()
        raise BrokerError(f"mosquitto did not listen on {self.host}:{self.port} within {self.startup_timeout} s")

    def stop(self) -> None:
        """Stop the process this object started (SIGTERM, then SIGKILL) and remove its directory."""
        process = self.process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        self._cleanup()

    def _cleanup(self) -> None:
        if self.process is not None and self.process.stderr is not None:
            self.process.stderr.close()
        self.process = None
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None

    def __enter__(self) -> MosquittoBroker:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run a throw-away Mosquitto broker on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=None, help="port (default: a free one)")
    parser.add_argument("--cafile", type=Path, help="TLS: the CA of client certificates (with --certfile, --keyfile)")
    parser.add_argument("--certfile", type=Path, help="TLS: the broker's certificate")
    parser.add_argument("--keyfile", type=Path, help="TLS: the broker's key")
    parser.add_argument("--require-certificate", action="store_true", help="TLS: clients must present a certificate")
    parser.add_argument("--admin-user", metavar="NAME",
                        help="no anonymous access: Dynamic Security with this administrator (give the same name and "
                             "password to vtn serve --mqtt-user/--mqtt-password-file --mqtt-acl)")
    parser.add_argument("--admin-password-file", type=Path, metavar="FILE",
                        help="the administrator's password (the file's first line); with --admin-user")
    args = parser.parse_args(argv)
    files = (args.cafile, args.certfile, args.keyfile)
    if any(files) and not all(files):
        parser.error("--cafile, --certfile and --keyfile go together")
    if (args.admin_user is None) != (args.admin_password_file is None):
        parser.error("--admin-user and --admin-password-file go together")
    admin = None
    if args.admin_user is not None:
        try:
            admin = (args.admin_user, args.admin_password_file.read_text().splitlines()[0])
        except (OSError, IndexError) as exc:
            parser.error(f"--admin-password-file {args.admin_password_file}: no password ({exc})")
    tls = BrokerTls(args.cafile, args.certfile, args.keyfile, args.require_certificate) if all(files) else None
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        broker = MosquittoBroker(args.port, tls=tls, admin=admin).start()
    except BrokerError as error:
        print(error, file=sys.stderr)
        return 1
    print(f"{'mqtts' if broker.tls else 'mqtt'}://{broker.host}:{broker.port}", flush=True)
    try:
        assert broker.process is not None
        broker.process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        broker.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
