"""`nmem serve`'s quota options read sizes as people write them, and refuse anything else."""

from __future__ import annotations

from click.testing import CliRunner

from neuralmemory.cli.main import cli


def test_a_quota_that_is_not_a_size_is_refused() -> None:
    result = CliRunner().invoke(cli, ["serve", "--quota-bytes", "lots"])
    assert result.exit_code == 2
    assert "not a size: 'lots' (for example 1GiB, 500MB or 1048576)" in result.output
