"""The service guide's unit files: they parse, and run commands and options that exist."""

from __future__ import annotations

import configparser
import re
import shlex
from pathlib import Path

import pytest

from aiobroute import cli

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ROOT / "docs" / "services"
UNITS = sorted(SERVICES.glob("*.service"))


def unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read_string(path.read_text(encoding="utf-8"), source=str(path))
    return parser


def exec_argv(path: Path) -> list[str]:
    return shlex.split(unit(path)["Service"]["ExecStart"])


def test_the_guide_has_the_three_units_and_includes_them() -> None:
    assert {path.stem for path in UNITS} == {
        "aiobroute-mqtt",
        "aiobroute-exporter",
        "aiobroute-record",
    }
    guide = (ROOT / "docs" / "guides" / "service.md").read_text(encoding="utf-8")
    for path in [*UNITS, SERVICES / "99-aiobroute.rules", SERVICES / "aiobroute.env"]:
        assert f'--8<-- "docs/services/{path.name}"' in guide, path.name


@pytest.mark.parametrize("path", UNITS, ids=lambda p: p.stem)
def test_unit_is_a_long_running_service(path: Path) -> None:
    service = unit(path)["Service"]
    assert service["Restart"] in {"always", "on-failure"}
    assert "dialout" in service["SupplementaryGroups"].split()
    assert service["EnvironmentFile"].startswith("/etc/aiobroute/")
    assert set(service["RestartPreventExitStatus"].split()) == {"2", "4"}
    assert "143" in service["SuccessExitStatus"].split()
    assert service["User"] != "root"
    assert unit(path)["Install"]["WantedBy"] == "multi-user.target"
    argv = exec_argv(path)
    assert argv[0].endswith("/bin/aiobroute")  # the installed command: no checkout
    port = argv[argv.index("--port") + 1]
    assert port.startswith("/dev/serial/by-id/")
    assert not any("password" in arg.lower() for arg in argv)  # secrets only in the env file


@pytest.mark.parametrize("path", UNITS, ids=lambda p: p.stem)
def test_exec_start_parses_with_the_command_s_own_parser(path: Path) -> None:
    argv = exec_argv(path)[1:]
    command = argv[0]
    assert command in cli._MODULE_COMMANDS or command in cli._COMMANDS
    args = cli._parser().parse_args(argv)  # SystemExit on an unknown option or value
    assert args.command == command
    assert args.cache.startswith("/var/lib/aiobroute/")


def test_the_env_file_holds_only_the_variables_the_commands_read() -> None:
    text = (SERVICES / "aiobroute.env").read_text(encoding="utf-8")
    names = set(re.findall(r"^([A-Z_]+)=", text, flags=re.MULTILINE))
    assert names == {"AIOBROUTE_RBID", "AIOBROUTE_PASSWORD", "AIOBROUTE_MQTT_PASSWORD"}
    assert "0600" in text


def test_every_troubleshooting_link_of_the_command_has_its_section() -> None:
    source = "".join(
        path.read_text(encoding="utf-8")
        for path in sorted((ROOT / "src" / "aiobroute" / "cli").glob("*.py"))
    )
    anchors = set(re.findall(r'_see\("([a-z0-9-]+)"\)', source))
    assert len(anchors) >= 7
    page = (ROOT / "docs" / "guides" / "troubleshooting.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## (.+)$", page, flags=re.MULTILINE)
    slugs = {re.sub(r"[-\s]+", "-", re.sub(r"[^\w\s-]", "", h).strip().lower()) for h in headings}
    assert anchors <= slugs, anchors - slugs
