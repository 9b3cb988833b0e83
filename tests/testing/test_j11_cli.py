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


def test_j11_faults_parse() -> None:
    from aiobroute.testing import J11Faults

    faults = J11Faults.parse(["route-b-fail=2,no-ack=0.25", "no-ack-first=1,pana-no-answer"])
    assert faults == J11Faults(route_b_failures=2, no_ack=0.25, no_ack_first=1, pana_no_answer=True)
    assert J11Faults.parse("silent-module").silent_module
    with pytest.raises(ValueError, match="unknown J11 fault"):
        J11Faults.parse("boom")
    with pytest.raises(ValueError):
        J11Faults.parse("no-ack=2")


@pytest.mark.parametrize(
    "argv",
    [
        ["--model", "rs_wsuha_j11", "--j11-fault", "boom"],
        ["--model", "BP35C2", "--j11-fault", "pana-no-answer"],
    ],
)
def test_bad_j11_fault_arguments_exit_with_usage(argv: list[str]) -> None:
    from aiobroute.testing.__main__ import main as simulate_main

    with pytest.raises(SystemExit) as exit_info:
        simulate_main(argv)
    assert exit_info.value.code == 2
