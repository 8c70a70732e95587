"""EiOpt with a real openleadr 0.5.36 VEN (openleadr's own VTN has no EiOpt service and answers 404): its
``create_opt`` (an opt-out availability schedule) and ``cancel_opt`` against ``transactive vtn serve`` are
acknowledged, and the VTN keeps the opt, then its cancellation, in its store."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tests.interop.oadr_peers import VTN_FLAGS, start_ven, wait_for
from tests.vtn.conftest import start_vtn
from transactive.services.oadr.records import OptRecord
from transactive.services.sqlite_store import SqliteStore

pytestmark = pytest.mark.interop


def test_an_openleadr_vens_opt_schedule_is_acknowledged_stored_and_cancelled(openleadr_python: Path,
                                                                           tmp_path: Path) -> None:
    data = tmp_path / "vtn"
    vtn = start_vtn(data, *VTN_FLAGS)
    ven = start_ven(openleadr_python, vtn.url, "ven-opts", tmp_path, "--opt-schedule")
    try:
        created = wait_for(lambda: [x for x in ven.lines() if x["kind"] == "opt_created"], 45, "the opt")
        assert created[0]["opt_id"], "openleadr saw no oadrCreatedOpt with its optID"
        cancelled = wait_for(lambda: [x for x in ven.lines() if x["kind"] == "opt_cancelled"], 30,
                             "the opt's cancellation")
        assert cancelled[0]["ok"] is True, "openleadr saw no oadrCanceledOpt with its optID"
        store = SqliteStore(data / "vtn.db", read_only=True)
        try:
            opts = [OptRecord.load(o.document) for o in store.oadr_objects(OptRecord.KIND, ven_id=ven.ven_id)]
        finally:
            store.close()
        assert [o.opt_id for o in opts] == [created[0]["opt_id"]]
        (opt,) = opts
        assert opt.opt_type == "optOut"
        assert opt.opt_reason == "mustRun"
        assert len(opt.available) == 1
        assert opt.available[0][1] == timedelta(hours=2)
        assert opt.cancelled_at is not None
        assert ven.schema_complaints() == []
    finally:
        ven.stop()
        vtn.kill()
