"""The device side of ``transactive ven``: the personality's parameters as flags and as a ``--config`` TOML
file (:func:`add_personality_flags`, :func:`personality_from_args`), and ``transactive ven personalities``.

Every :class:`~transactive.ven.personalities.Param` a personality declares is a flag named after it
(``battery_kwh`` -> ``--battery-kwh``); a flag that the chosen personality does not have is a usage error
naming it. A ``--config`` file is a flat TOML table of the same names, plus optionally ``personality`` and
``capacity_kw``; flags win over the file, the file over a template's values, those over the defaults::

    # ev-60.toml
    personality = "ev"
    capacity_kw = 11.0
    battery_kwh = 60.0
    v2g = true
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_personality_flags", "add_personalities_parser", "personality_from_args"]

#: the keys a --config file may have besides the parameters
_CONFIG_KEYS = ("personality", "capacity_kw")


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def add_personality_flags(parser: argparse.ArgumentParser) -> None:
    """``--config FILE`` and one flag per declared parameter (defaults None: the personality's own apply)."""
    from transactive.ven.personalities import PERSONALITIES, Param

    parser.add_argument("--config", type=Path, default=None, metavar="FILE",
                        help="the personality and its parameters as a TOML file (flags win over it)")
    group = parser.add_argument_group(
        "personality parameters",
        "each applies to the personalities named in its help (default in brackets); see "
        "'transactive ven personalities' for what each models")
    owners: dict[str, list[tuple[str, Param]]] = {}
    for name in sorted(PERSONALITIES):
        for param in PERSONALITIES[name].params:
            owners.setdefault(param.name, []).append((name, param))
    for key in sorted(owners):
        first = owners[key][0][1]
        defaults = ", ".join(f"{who} [{param.default}]" for who, param in owners[key])
        unit = f" ({first.unit})" if first.unit else ""
        choices = f" one of {', '.join(first.choices)};" if first.choices else ""
        group.add_argument(_flag(key), dest=f"param_{key}", default=None, metavar=first.kind.__name__.upper(),
                           help=f"{first.help}{unit};{choices} {defaults}")


def _read_config(path: Path) -> dict[str, Any]:
    from transactive.ven.toml_file import read_toml

    data = read_toml(path)
    for key, value in data.items():
        if isinstance(value, dict | list):
            raise ValueError(f"--config {path}: {key}: expected a single value (the file is one flat table)")
    return data


def personality_from_args(args: argparse.Namespace) -> Any:
    """The :class:`~transactive.ven.personalities.Personality` that ``--personality``, ``--config``,
    ``--capacity-kw`` and the parameter flags describe; ``ValueError`` naming the flag or the file's key."""
    from transactive.ven.personalities import create_personality, personality_names, resolve

    config = _read_config(args.config) if args.config is not None else {}
    where = f"--config {args.config}: " if args.config is not None else ""
    named = config.pop("personality", None)
    if named is not None and args.personality is not None and named != args.personality:
        raise ValueError(f"{where}personality = {named!r}, but --personality {args.personality}")
    name = args.personality or named
    if name is None:
        raise ValueError("--personality NAME is required (or personality = \"NAME\" in --config); known: "
                         + ", ".join(personality_names()))
    if not isinstance(name, str):
        raise ValueError(f"{where}personality: expected a name, not {name!r}")
    cls, _template = resolve(name)
    declared = {p.name: p for p in cls.params}
    capacity = args.capacity_kw
    if capacity is None and "capacity_kw" in config:
        value = config.pop("capacity_kw")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{where}capacity_kw: expected a number of kW, not {value!r}")
        capacity = float(value)
    config.pop("capacity_kw", None)
    if capacity is not None and not capacity > 0:
        raise ValueError(("--capacity-kw" if args.capacity_kw is not None else f"{where}capacity_kw")
                         + " must be positive")
    params: dict[str, Any] = dict(config)
    for key, value in vars(args).items():
        if not key.startswith("param_") or value is None:
            continue
        key = key.removeprefix("param_")
        param = declared.get(key)
        if param is None:
            known = ", ".join(_flag(k) for k in sorted(declared)) or "none"
            raise ValueError(f"{_flag(key)} is not a parameter of {name} (its parameters: {known})")
        params[key] = param.coerce(value, _flag(key))
    try:
        return create_personality(name, capacity, seed=args.seed, params=params, where=where)
    except TypeError as error:  # pragma: no cover (a Param without its keyword: a bug in the personality)
        raise ValueError(f"{name}: {error}") from None


# ---- ven personalities -----------------------------------------------------------------------------------

_EPILOG = """\
Lists every device personality and template that 'transactive ven run --personality NAME' accepts, with its
parameters (flags of ven run, or keys of a --config TOML file) and their defaults.
--json prints a list of {"name", "kind" (personality|template), "summary", "capacity_kw", "params": [{"name",
"default", "type", "unit", "help"}]}; templates add "title", "personality" and "priority" (1 is served first
when a community rations energy).

examples:
  transactive ven personalities
  transactive ven personalities --json | jq '.[] | select(.name == "ev") | .params'

exit codes: 0 success, 2 usage error.
"""


def add_personalities_parser(group: Any) -> None:
    p = group.add_parser("personalities", help="list the device personalities and templates with their parameters",
                         description="The device personalities and templates of the reference VEN.",
                         epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(run=run_personalities)


def run_personalities(args: argparse.Namespace) -> int:
    from transactive.ven.personalities import catalogue

    entries = catalogue()
    if args.json:
        print(json.dumps(entries, indent=2))
        return 0
    out = sys.stdout
    for entry in entries:
        what = (f"template {entry['title']!r} over {entry['personality']}, priority {entry['priority']}"
                if entry["kind"] == "template" else "personality")
        out.write(f"{entry['name']}  ({what}; capacity {entry['capacity_kw']:g} kW by default)\n")
        out.write(f"    {entry['summary']}\n")
        for param in entry["params"]:
            unit = f" {param['unit']}" if param["unit"] else ""
            out.write(f"    {_flag(param['name']):<26} {param['help']} [{param['default']}{unit}]\n")
    return 0
