"""``transactive ven personalities`` and the personality flags and ``--config`` file of ``ven run``."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from transactive.cli import build_parser, main
from transactive.cli._personality import personality_from_args
from transactive.emix import Side
from transactive.market import ReservePrices
from transactive.ven.personalities import (
    PERSONALITIES,
    TEMPLATES,
    BatteryPersonality,
    EventKind,
    Need,
    catalogue,
    create_personality,
)


def _device(*argv: str):  # type: ignore[no-untyped-def]
    args = build_parser().parse_args(["ven", "run", "--vtn", "http://127.0.0.1:9", "--party", "p", *argv])
    return personality_from_args(args)


def test_the_json_catalogue_lists_every_personality_and_template_with_its_defaults(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ven", "personalities", "--json"]) == 0
    listed = {entry["name"]: entry for entry in json.loads(capsys.readouterr().out)}
    assert set(PERSONALITIES) <= set(listed)
    for name, cls in PERSONALITIES.items():
        entry = listed[name]
        assert entry["kind"] == "personality"
        assert entry["summary"] == cls.summary
        assert entry["capacity_kw"] == cls.default_capacity_kw
        assert [(p["name"], p["default"]) for p in entry["params"]] == [(p.name, p.default) for p in cls.params]
    for template in TEMPLATES.values():
        if template.personality in PERSONALITIES:
            entry = listed[template.name]
            assert (entry["kind"], entry["personality"], entry["priority"]) == \
                ("template", template.personality, template.priority)
            defaults = {p["name"]: p["default"] for p in entry["params"]}
            assert all(defaults[k] == v for k, v in template.params.items())


def test_the_table_names_every_personality_and_its_flags(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ven", "personalities"]) == 0
    out = capsys.readouterr().out
    for entry in catalogue():
        assert entry["name"] in out
        for param in entry["params"]:
            assert "--" + param["name"].replace("_", "-") in out


def test_flags_set_the_declared_parameters() -> None:
    device = _device("--personality", "battery", "--capacity-kw", "4", "--energy-kwh", "12", "--soc", "0.25")
    assert isinstance(device, BatteryPersonality)
    assert (device.capacity_kw, device.energy_kwh, device.soc) == (4.0, 12.0, 0.25)


def test_a_config_file_sets_them_and_flags_win(tmp_path: Path) -> None:
    config = tmp_path / "bat.toml"
    config.write_text('personality = "battery"\ncapacity_kw = 3.0\nenergy_kwh = 9\nsoc = 0.1\n', encoding="utf-8")
    device = _device("--config", str(config), "--soc", "0.75")
    assert isinstance(device, BatteryPersonality)
    assert (device.capacity_kw, device.energy_kwh, device.soc) == (3.0, 9.0, 0.75)


@pytest.mark.parametrize(("argv", "config", "message"), [
    (["--personality", "pv", "--energy-kwh", "3"], None, "--energy-kwh is not a parameter of pv"),
    (["--personality", "battery", "--soc", "half"], None, "--soc: expected a number, not 'half'"),
    (["--personality", "battery", "--window", "2.5"], None, "--window: expected a whole number, not '2.5'"),
    (["--personality", "battery", "--soc", "2"], None, "soc: the initial state of charge"),
    (["--personality", "battery", "--capacity-kw", "0"], None, "--capacity-kw must be positive"),
    ([], None, "--personality NAME is required"),
    (["--personality", "battery"], 'colour = "red"\n', "colour: battery has no such parameter"),
    (["--personality", "pv"], 'personality = "battery"\n', "personality = 'battery', but --personality pv"),
    ([], 'personality = "battery"\nsoc = "high"\n', "soc: expected a number, not 'high'"),
    ([], 'personality = "battery"\ncapacity_kw = "big"\n', "capacity_kw: expected a number of kW"),
    ([], "personality = [1]\n", "personality: expected a single value"),
    ([], "personality = \n", "not TOML"),
])
def test_bad_personality_settings_are_one_line_usage_errors(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], config: str | None, message: str) -> None:
    extra = []
    if config is not None:
        path = tmp_path / "device.toml"
        path.write_text(config, encoding="utf-8")
        extra = ["--config", str(path)]
    assert main(["ven", "run", "--vtn", "http://127.0.0.1:9", "--party", "p", *argv, *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("transactive ven run: ")
    assert message in err
    assert err.count("\n") == 1
    if config is not None and "not TOML" not in message:
        assert str(tmp_path / "device.toml") in err


def test_a_missing_config_file_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ven", "run", "--vtn", "http://127.0.0.1:9", "--party", "p", "--config",
                 str(tmp_path / "nope.toml")]) == 2
    assert "nope.toml: no such file" in capsys.readouterr().err


def test_a_parameter_coerces_by_its_default_s_type_and_names_itself() -> None:
    from transactive.ven.personalities import Param

    flag = Param("v2g", False, "export too")
    assert flag.coerce("yes") is True
    assert flag.coerce("0") is False
    assert flag.coerce(True) is True
    mode = Param("mode", "heat", "heating or cooling", choices=("heat", "cool"))
    assert mode.coerce("cool") == "cool"
    count = Param("runs", 1, "runs per day")
    assert count.coerce(3.0) == 3
    for param, value, message in ((flag, "maybe", "v2g: expected true or false, not 'maybe'"),
                                  (mode, "fan", "mode: 'fan' is not one of heat, cool"),
                                  (count, True, "runs: expected a whole number, not True"),
                                  (Param("x", 1.0, ""), "nan", "x: expected a number, not 'nan'")):
        with pytest.raises(ValueError, match="^" + message.replace("(", r"\(") + "$"):
            param.coerce(value)


def test_the_docs_example_personality_works_as_the_docs_say() -> None:
    """The personality tutorial's class (its first code block: docs/personalities.md links to it), run as written
    and registered as the tuple in ven/personalities would (the tutorial itself runs in tests/docs)."""
    page = (Path(__file__).resolve().parents[2] / "docs" / "tutorials" / "personality.md").read_text(encoding="utf-8")
    code = re.findall(r"```python\n(.*?)```", page, re.S)
    assert "class ServerRoomPersonality(Personality)" in code[0]
    namespace: dict[str, object] = {}
    exec(compile(code[0], "docs/tutorials/personality.md", "exec"), namespace)
    cls = namespace["ServerRoomPersonality"]
    start, q = datetime(2026, 1, 5, 9, tzinfo=UTC), timedelta(minutes=15)
    device = cls(8.0, sheddable=0.25)  # type: ignore[operator]
    band = ReservePrices(grid_buy=0.3, grid_sell=0.05)
    assert device.plan(start, q, band) == [Need(Side.BUY, 2.0, 0.3)]
    assert device.on_event(start, start + q, EventKind.LEVEL, 2.0) is True
    assert device.forecast_kwh(start, q) == 1.5
    assert device.on_event(start, start + q, EventKind.PRICE, 0.2) is False
    assert device.metered(start + q, q).bought_kwh == pytest.approx(2.0, rel=0.1)
    PERSONALITIES[cls.name] = cls  # type: ignore[index,attr-defined]
    try:
        built = create_personality("server-room", params={"sheddable": "0.3"})
        assert built.sheddable == 0.3  # type: ignore[attr-defined]
        with pytest.raises(ValueError, match="sheddable: a fraction"):
            create_personality("server-room", params={"sheddable": 2})
    finally:
        del PERSONALITIES["server-room"]
