"""A throw-away PostgreSQL cluster on 127.0.0.1, for tests and demos (standard library only).

>>> with PostgresCluster() as cluster:                       # doctest: +SKIP
...     cluster.create_database("vtn")
...     print(cluster.url("vtn"))                            # postgresql://postgres@127.0.0.1:<port>/vtn

The cluster is ``initdb`` + ``pg_ctl`` from the server's bin directory (:func:`install`: found under
``/usr/lib/postgresql/*/bin``, else installed with ``install.sh``, apt-get). It listens on ``127.0.0.1`` only,
on a free port unless given, TCP only (no Unix socket), with ``trust`` authentication for ``127.0.0.1/32``
and nothing else; the superuser is ``postgres``.

PostgreSQL refuses to run as root: as root, every server command runs as the ``postgres`` user
(``runuser``), and the cluster's directory is one that user can enter: ``<project>/.cache/postgresql/...``
(chowned to it) when every folder above it is open to others, else a folder under ``/tmp``.

``directory=None``: a new folder, removed when the cluster is closed (:meth:`close`, or leaving the ``with``
block). A ``directory`` given is kept, and a cluster already in it is reused (the demos: ``python -m
interop.postgresql.cluster start`` leaves the server running and prints its URL, ``stop`` stops it).
:meth:`stop` stops the server and keeps the data; :meth:`start` again brings it back on the same port (tests
use that to take the database away and give it back). ``fsync=False`` trades the data's survival of a
machine crash for speed (tests only).
"""

from __future__ import annotations

import argparse
import glob
import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path
from types import TracebackType

from transactive.interop.loopback import free_port

__all__ = ["INSTALL_SCRIPT", "PROJECT_CACHE", "ClusterError", "PostgresCluster", "find_bindir", "free_port",
           "install"]

INSTALL_SCRIPT = Path(__file__).resolve().parent / "install.sh"
#: where clusters live when the project's folders let the ``postgres`` user in (git-ignored)
PROJECT_CACHE = Path(__file__).resolve().parents[2] / ".cache" / "postgresql"
_SERVER_USER = "postgres"


class ClusterError(RuntimeError):
    """PostgreSQL is missing, cannot be installed, or a server command failed."""


def find_bindir() -> str | None:
    """The server's bin directory: ``$PG_BIN``, else the newest ``/usr/lib/postgresql/*/bin`` with an initdb,
    else the directory of an ``initdb`` on PATH."""
    env = os.environ.get("PG_BIN")
    if env and os.access(os.path.join(env, "initdb"), os.X_OK):
        return env

    def major(path: str) -> tuple[int, ...]:
        version = Path(path).parent.parent.name
        return tuple(int(p) for p in version.split(".") if p.isdigit())

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=major, reverse=True)
    for initdb in found:
        if os.access(initdb, os.X_OK):
            return os.path.dirname(initdb)
    on_path = shutil.which("initdb")
    return os.path.dirname(on_path) if on_path else None


def install() -> str:
    """The server's bin directory, installed by ``install.sh`` (apt-get) if missing; :class:`ClusterError` with
    the script's reason if that fails."""
    found = find_bindir()
    if found:
        return found
    result = subprocess.run(["sh", str(INSTALL_SCRIPT)], capture_output=True, text=True, check=False)
    lines = result.stdout.strip().splitlines()
    found = lines[-1] if result.returncode == 0 and lines else None
    if not found or not os.access(os.path.join(found, "initdb"), os.X_OK):
        reason = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "no initdb"
        raise ClusterError(f"PostgreSQL could not be installed: {reason}")
    return found


def _as_root() -> bool:
    return os.geteuid() == 0


def _enterable_by_others(path: Path) -> bool:
    """Can a user who is neither the owner nor in the group walk down to ``path`` (every folder above it o+x)?"""
    for folder in [path, *path.parents]:
        try:
            mode = folder.stat().st_mode
        except OSError:
            return False
        if not mode & stat.S_IXOTH:
            return False
    return True


def _give_to_server_user(path: Path) -> None:
    """As root: the server user owns ``path`` (it writes the data and the log there)."""
    if _as_root():
        user = pwd.getpwnam(_SERVER_USER)
        os.chown(path, user.pw_uid, user.pw_gid)


def _new_directory() -> Path:
    """A new folder the server user can enter: under the project's cache if it can get there, else in /tmp."""
    cache = PROJECT_CACHE
    if not (cache.parents[1] / "pyproject.toml").is_file():  # installed from a wheel: no project folder
        return Path(tempfile.mkdtemp(prefix="transactive-pg-"))
    if not _as_root():
        cache.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix="pg-", dir=cache))
    if _enterable_by_others(cache.parent.parent):
        cache.mkdir(parents=True, exist_ok=True)
        for folder in (cache.parent, cache):  # the server user walks through them (they hold nothing secret)
            os.chmod(folder, os.stat(folder).st_mode | stat.S_IXOTH)
        return Path(tempfile.mkdtemp(prefix="pg-", dir=cache))
    return Path(tempfile.mkdtemp(prefix="transactive-pg-"))


class PostgresCluster:
    """One PostgreSQL server on ``127.0.0.1:port`` with its data in ``directory`` (see the module docstring)."""

    host = "127.0.0.1"

    def __init__(self, directory: str | Path | None = None, port: int | None = None, fsync: bool = True, *,
                 startup_timeout: float = 30.0) -> None:
        self._throwaway = directory is None
        self.directory = Path(directory).resolve() if directory is not None else None
        self.port = port
        self.fsync = fsync
        self.startup_timeout = startup_timeout
        self.bindir = install()

    # ---- paths and commands ----
    @property
    def data(self) -> Path:
        if self.directory is None:
            raise ClusterError("the cluster has no directory yet (start it first)")
        return self.directory / "data"

    @property
    def log(self) -> Path:
        return self.data.parent / "server.log"

    def url(self, dbname: str = "postgres") -> str:
        """The URL a client connects with (the superuser, no password: trust on loopback)."""
        if self.port is None:
            raise ClusterError("the cluster has no port yet (start it first)")
        return f"postgresql://{_SERVER_USER}@{self.host}:{self.port}/{dbname}"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run a server program (as the server user when root)."""
        cmd = [os.path.join(self.bindir, args[0]), *args[1:]]
        if _as_root():
            cmd = ["runuser", "-u", _SERVER_USER, "--", *cmd]
        result = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd="/")
        if check and result.returncode != 0:
            detail = (result.stderr or result.stdout).strip()
            raise ClusterError(f"{args[0]} failed ({result.returncode}): {detail[-2000:]}")
        return result

    def _sql(self, statement: str, dbname: str = "postgres") -> None:
        self._run("psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", self.host, "-p", str(self.port),
                  "-U", _SERVER_USER, "-d", dbname, "-c", statement)

    # ---- life cycle ----
    def running(self) -> bool:
        if self.directory is None or not (self.data / "PG_VERSION").exists():
            return False
        return self._run("pg_ctl", "-D", str(self.data), "status", check=False).returncode == 0

    def _running_port(self) -> int | None:
        """The port of the server running in ``data`` (line 4 of ``postmaster.pid``), None if none runs."""
        try:
            lines = (self.data / "postmaster.pid").read_text().splitlines()
            return int(lines[3])
        except (OSError, IndexError, ValueError):
            return None

    def _initdb(self) -> None:
        assert self.directory is not None
        self.directory.mkdir(parents=True, exist_ok=True)
        _give_to_server_user(self.directory)
        # C locale: text sorts by bytes, as SQLite's does; UTF-8 for every party's text
        self._run("initdb", "-D", str(self.data), "-U", _SERVER_USER, "--auth=trust", "--encoding=UTF8",
                  "--locale=C", *(() if self.fsync else ("--no-sync",)))
        # TCP on loopback only, no Unix socket (its path would be limited to ~100 characters: a deep project
        # folder would keep the server from starting); trust for 127.0.0.1 alone
        (self.data / "pg_hba.conf").write_text("host all all 127.0.0.1/32 trust\n")
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(f"\nlisten_addresses = '{self.host}'\nunix_socket_directories = ''\n")

    def start(self) -> PostgresCluster:
        """Create the cluster if its directory has none, start the server (a no-op if it runs) and wait until
        it accepts connections."""
        if self.directory is None:
            self.directory = _new_directory()
        if not (self.data / "PG_VERSION").exists():
            self._initdb()
        if self.running():
            self.port = self._running_port() or self.port
            return self
        if self.port is None:
            self.port = free_port(self.host)
        options = [f"-p {self.port}", f"-c fsync={'on' if self.fsync else 'off'}",
                   # a test cluster sees many short connections from several pools: more than the default 100
                   "-c max_connections=200"]
        if not self.fsync:
            options += ["-c full_page_writes=off"]
        result = self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", " ".join(options),
                           "-t", str(int(self.startup_timeout)), "-w", "start", check=False)
        if result.returncode != 0:
            tail = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else result.stderr
            raise ClusterError(f"PostgreSQL did not start on {self.host}:{self.port}: {tail.strip()}")
        return self

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``fast``: end the sessions and shut down cleanly; ``immediate``: as a crash would),
        keeping the data."""
        if self.running():
            self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def close(self) -> None:
        """Stop the server; remove a throw-away cluster's directory."""
        self.stop()
        if self._throwaway and self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None

    def __enter__(self) -> PostgresCluster:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # ---- databases ----
    def create_database(self, name: str, template: str | None = None) -> str:
        """Create database ``name`` (a copy of ``template`` when given); returns its URL."""
        statement = f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")
        self._sql(statement)
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop database ``name`` if it exists, ending the sessions still connected to it."""
        self._sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m interop.postgresql.cluster",
                                     description="A PostgreSQL cluster on 127.0.0.1 for demos.")
    parser.add_argument("command", choices=["start", "stop", "url"])
    parser.add_argument("--dir", type=Path, default=PROJECT_CACHE / "demo",
                        help="the cluster's folder (kept; default: .cache/postgresql/demo in the project)")
    parser.add_argument("--port", type=int, default=None, help="the port to listen on (default: a free one)")
    parser.add_argument("--db", default="transactive", help="the database start creates and url names")
    args = parser.parse_args(argv)
    directory: Path = args.dir.resolve()
    directory.parent.mkdir(parents=True, exist_ok=True)
    if args.command == "start" and _as_root() and not _enterable_by_others(directory.parent):
        print(f"{directory}: the {_SERVER_USER} user cannot enter it; pass --dir under /tmp", file=sys.stderr)
        return 1
    cluster = PostgresCluster(directory, args.port)
    try:
        if args.command == "start":
            cluster.start()
            with_db = cluster._run("psql", "-X", "-tA", "-h", cluster.host, "-p", str(cluster.port), "-U",
                                   _SERVER_USER, "-d", "postgres", "-c",
                                   f"SELECT 1 FROM pg_database WHERE datname = '{args.db}'")
            if with_db.stdout.strip() != "1":
                cluster.create_database(args.db)
            print(cluster.url(args.db))
        elif args.command == "stop":
            cluster.stop()
        else:
            port = cluster._running_port() if cluster.running() else None
            if port is None:
                print(f"no server runs in {directory}", file=sys.stderr)
                return 1
            cluster.port = port
            print(cluster.url(args.db))
    except ClusterError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
