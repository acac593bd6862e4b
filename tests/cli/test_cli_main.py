"""The top-level `cnnviz` command: parsing errors are one line, never a usage block."""

import pytest

from cnnviz.cli import main


@pytest.mark.parametrize("argv", [["--bogus"], ["nothing"], ["check", "--bogus"]])
def test_a_bad_flag_is_reported_in_one_line(argv, capsys):
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "see cnnviz" in err
