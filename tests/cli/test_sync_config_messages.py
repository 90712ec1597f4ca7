"""A key pasted into the wrong option is never echoed whole: not by the library's own errors, not
by click's usage errors ("'nmk_...' is not one of ..."), with or without --json."""

from __future__ import annotations

from typing import Any

import pytest

from neuralmemory.config import redact_keys

KEY = "nmk_" + "Pa5tedIntoTheWrongField" * 2
MASKED = KEY[:12] + "****"


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("sync", "config", "set", "--hub-url", KEY), 1),
        (("sync", "config", "set", "--hub-url", f"https://hub.example/{KEY}"), 1),
        (("sync", "config", "set", "--ca-cert", KEY), 1),
        (("sync", "config", "set", "--conflict-strategy", KEY), 2),
        (("sync", "full", "--strategy", KEY), 2),
        (("sync", "config", "set", f"--{KEY}"), 2),
        (("sync", KEY), 2),
    ],
)
def test_a_key_in_the_wrong_place_is_masked_in_every_message(
    nmem: Any, args: tuple[str, ...], code: int
) -> None:
    for extra in ((), ("--json",)):
        if code == 2 and extra:
            continue  # a usage error happens before --json is read
        result = nmem(*args, *extra, code=code)
        assert KEY not in result.output and KEY[12:] not in result.output
        if code == 2:
            assert MASKED in result.output or "nmk_****" in result.output


def test_the_errors_still_say_what_was_wrong(nmem: Any) -> None:
    result = nmem("sync", "config", "set", "--hub-url", KEY, code=1)
    assert result.stderr == (
        "Error: that looks like an API key, not a hub URL (give the key as --api-key "
        "(MCP: api_key) and the hub's address as --hub-url)\n"
    )
    result = nmem("sync", "config", "set", "--hub-url", "nmk_abc", code=1)
    assert "not a hub URL: 'nmk_****'" in result.stderr
    result = nmem("sync", "config", "set", "--conflict-strategy", KEY, code=2)
    assert f"Invalid value for '--conflict-strategy': '{MASKED}' is not one of" in result.stderr


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (f"not a hub URL: '{KEY}'", f"not a hub URL: '{MASKED}'"),
        (f"x{KEY}y and {KEY}", f"x{MASKED} and {MASKED}"),
        (f"input_value='{KEY[:22]}...{KEY[-17:]}'", "input_value='nmk_****'"),  # pydantic's cut
        ("a fragment nmk_abc12", "a fragment nmk_****"),
        (MASKED, MASKED),  # masking twice changes nothing
        (
            "keys look like nmk_ followed by 32+ letters",
            "keys look like nmk_ followed by 32+ letters",
        ),
        ("--api-key nmk_...", "--api-key nmk_..."),  # the placeholder in hints
    ],
)
def test_redact_keys(text: str, shown: str) -> None:
    assert redact_keys(text) == shown
