"""The `riskmodels` command: exit codes and messages."""

from __future__ import annotations

import pytest

from riskmodels.cli import main


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("riskmodels ")


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "usage: riskmodels" in capsys.readouterr().err


def test_bad_freq_is_a_usage_error(capsys):
    assert main(["data", "check", "--freq", "2m"]) == 2
    assert "freq must be one of" in capsys.readouterr().err


def test_missing_mirror_is_a_data_error(tmp_path, capsys):
    assert main(["data", "check", "--mirror", str(tmp_path / "none")]) == 3
    assert "does not exist" in capsys.readouterr().err


def test_empty_archive_cache_names_the_fetch_command(tmp_path, capsys):
    code = main(
        ["data", "check", "--source", "archive", "--cache-dir", str(tmp_path), "--symbols", "BTC"]
    )
    assert code == 3
    assert "riskmodels data fetch BTC" in capsys.readouterr().err


@pytest.mark.mirror
def test_data_check_on_mirror(mirror_path, tmp_path, capsys):
    # The raw 4h files end with an in-progress candle (PROVENANCE §2.1): an error -> exit 1.
    html = tmp_path / "q.html"
    code = main(
        [
            "data",
            "check",
            "--mirror",
            str(mirror_path),
            "--freq",
            "4h",
            "--symbols",
            "BTC",
            "--html",
            str(html),
        ]
    )
    out = capsys.readouterr()
    assert code == 1
    assert "in_progress BTC 2026-03-14 08:00" in out.out
    assert "missing_bars BTC 2018-06-26 04:00" in out.out
    assert html.read_text().count("<table") >= 1
    # The daily tidy panel of BTC has no error finding -> exit 0
    assert main(["data", "check", "--mirror", str(mirror_path), "--symbols", "BTC"]) == 0
