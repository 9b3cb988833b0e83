"""The command line with a J11 model: served by ``simulate``, refused by the meter commands."""

from __future__ import annotations

import pytest

from aiobroute.cli import main


def test_reading_over_a_j11_model_is_a_clear_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["read", "--simulate", "--model", "rs_wsuha_j11"])
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert "J11" in err
    assert "Traceback" not in err


def test_simulate_rejects_an_unknown_j11_model(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["simulate", "--model", "BP35C3_J11"])
    assert exit_info.value.code == 2
    assert "BP35C1-J11-T01" in capsys.readouterr().err
