"""Importing aiobroute is cheap: heavy modules load only when they are used.

Each check runs in a fresh interpreter (``sys.executable -c``), because this test
process has long since imported everything.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

import aiobroute

#: Never loaded by ``import aiobroute`` nor by importing the client classes.
NEVER_FOR_THE_LIBRARY = (
    "serial",
    "serial_asyncio",
    "aiobroute.cli",
    "aiobroute.testing",
    "argparse",
    "sqlite3",
)
#: Not loaded by a bare ``import aiobroute`` either (they load with the first lazy name).
NOT_AT_TOP_LEVEL = (
    *NEVER_FOR_THE_LIBRARY,
    "asyncio",
    "typing",
    "attrs",
    "aiobroute.meter",
    "aiobroute.echonet",
    "aiobroute.skstack",
    "aiobroute.transport",
)


def loaded_after(code: str, names: tuple[str, ...]) -> list[str]:
    """Which of ``names`` are in ``sys.modules`` after running ``code`` in a fresh process."""
    script = textwrap.dedent(code) + textwrap.dedent(
        f"""
        import json as _json, sys as _sys
        print(_json.dumps(sorted(n for n in {list(names)!r} if n in _sys.modules)))
        """
    )
    done = subprocess.run(  # noqa: S603 - the interpreter running the tests, our own code
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert isinstance(result, list)
    return result


def test_import_aiobroute_loads_only_the_errors_and_the_version() -> None:
    assert loaded_after("import aiobroute", NOT_AT_TOP_LEVEL) == []


def test_the_client_classes_do_not_load_pyserial_cli_or_simulator() -> None:
    code = """
        from aiobroute import SmartMeter, SkStackClient, open_port
        import aiobroute.echonet, aiobroute.skstack, aiobroute.transport
    """
    assert loaded_after(code, (*NEVER_FOR_THE_LIBRARY, "aiobroute.transport._rfc2217")) == []


def test_smart_meter_does_not_load_what_only_reconnects_and_cache_files_need() -> None:
    # tempfile brings shutil, bz2 and lzma; random is for reconnection back-off only.
    code = "from aiobroute import SmartMeter"
    assert loaded_after(code, ("tempfile", "shutil", "random")) == []


def test_smart_meter_loads_neither_j11_nor_tools_nor_what_only_files_need() -> None:
    # The J11 dialect loads when a J11 link is opened; the recorder, the command line,
    # the simulator and rfc2217:// only when used. pathlib waits for a cache file,
    # ipaddress and the module-side formatter for an address not in the module's own
    # form; Japan time is a fixed offset (no zoneinfo).
    code = "from aiobroute import SmartMeter"
    unwanted = (
        "aiobroute.j11",
        "aiobroute.recorder",
        "aiobroute.cli",
        "aiobroute.testing",
        "aiobroute.transport._rfc2217",
        "aiobroute.skstack._wire",
        "pathlib",
        "ipaddress",
        "zoneinfo",
    )
    assert loaded_after(code, unwanted) == []


def test_the_skstack_dialect_loads_with_its_link_not_with_smart_meter() -> None:
    # SmartMeter needs the family enum and the credential checks; the SKSTACK client,
    # its parser, messages and command table load when an SKSTACK link is made.
    dialect = (
        "aiobroute.skstack._events",
        "aiobroute.skstack._parser",
        "aiobroute.skstack._commands",
        "aiobroute.skstack.client",
        "aiobroute.skstack._link",
    )
    assert loaded_after("from aiobroute import SmartMeter", dialect) == []
    code = """
        from aiobroute._dialects import new_link
        from aiobroute.transport import memory_pipe

        new_link(memory_pipe()[0], "skstack")
    """
    assert loaded_after(code, dialect) == sorted(dialect)


def test_a_cache_file_still_loads_pathlib_when_needed() -> None:
    code = """
        from aiobroute.supervisor import PanCache
        assert PanCache("no-such-dir-aiobroute/cache.json").load() is None
    """
    assert loaded_after(code, ("pathlib",)) == ["pathlib"]


def test_reconnection_back_off_still_works_after_the_lazy_import() -> None:
    code = """
        from aiobroute import ReconnectPolicy
        delays = list(ReconnectPolicy(max_attempts=3, jitter=0.5).delays())
        assert len(delays) == 3 and all(d >= 0 for d in delays), delays
    """
    assert loaded_after(code, ("random",)) == ["random"]


def test_non_serial_urls_do_not_load_pyserial() -> None:
    code = """
        import asyncio
        from aiobroute import open_port

        async def main():
            stream = await open_port("loop://")
            await stream.write(b"x")
            assert await stream.read() == b"x"
            await stream.close()

        asyncio.run(main())
    """
    assert loaded_after(code, ("serial", "serial_asyncio")) == []


def test_opening_a_device_path_loads_pyserial() -> None:
    code = """
        import asyncio
        from aiobroute import TransportError, open_port

        async def main():
            try:
                await open_port("/nonexistent-aiobroute-test/ttyUSB9")
            except TransportError:
                return
            raise AssertionError("opened a missing device")

        asyncio.run(main())
    """
    assert loaded_after(code, ("serial", "serial_asyncio")) == ["serial", "serial_asyncio"]


def test_every_public_name_resolves_in_a_fresh_interpreter() -> None:
    code = """
        import aiobroute
        missing = [n for n in aiobroute.__all__ if n not in dir(aiobroute)]
        assert not missing, missing
        from aiobroute import *  # noqa: F403
        for name in aiobroute.__all__:
            assert getattr(aiobroute, name) is globals()[name], name
        import aiobroute.meter
        assert aiobroute.SmartMeter is aiobroute.meter.SmartMeter
    """
    assert loaded_after(code, ("aiobroute.meter",)) == ["aiobroute.meter"]


def test_unknown_names_still_raise_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'NoSuchName'"):
        aiobroute.NoSuchName  # type: ignore[attr-defined]  # noqa: B018
    assert set(aiobroute.__all__) <= set(dir(aiobroute))
