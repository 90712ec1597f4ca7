"""The wire contract: golden vectors (shared with the Worker) and record validation."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from neuralmemory import protocol
from neuralmemory.protocol import Version

GOLDEN: dict[str, Any] = json.loads(
    (Path(__file__).parent / "golden" / "protocol_v1.json").read_text(encoding="utf-8")
)


@pytest.mark.parametrize("case", GOLDEN["canonical"], ids=lambda c: c["name"])
def test_canonical_json_matches_golden(case: dict[str, Any]) -> None:
    assert protocol.canonical_json(case["value"]).decode("utf-8") == case["canonical"]


@pytest.mark.parametrize("case", GOLDEN["invalid_canonical"], ids=lambda c: c["name"])
def test_values_without_canonical_form_are_refused(case: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        protocol.canonical_json(json.loads(case["json"]))


@pytest.mark.parametrize("case", GOLDEN["versions"], ids=lambda c: c["version"]["kind"])
def test_version_hash_bucket_and_item_match_golden(case: dict[str, Any]) -> None:
    version = Version.model_validate(case["version"])
    fields = {k: v for k, v in case["version"].items() if k != "vhash"}
    assert protocol.canonical_json(fields).decode("utf-8") == case["canonical_fields"]
    assert protocol.bucket_of(version.kind, version.id) == case["bucket"]
    assert protocol.item_digest(version.kind, version.id, version.vhash) == case["item_digest"]


def test_root_is_order_independent_xor_of_items() -> None:
    items = [case["item_digest"] for case in GOLDEN["versions"]]
    forward = backward = protocol.EMPTY_DIGEST
    for item in items:
        forward = protocol.xor_digest(forward, item)
    for item in reversed(items):
        backward = protocol.xor_digest(backward, item)
    assert forward == backward == GOLDEN["root_of_versions"]
    # XOR is its own inverse: removing every item gives the empty digest back
    for item in items:
        forward = protocol.xor_digest(forward, item)
    assert forward == protocol.EMPTY_DIGEST


def test_iso_ms_and_mask_key_match_golden() -> None:
    for case in GOLDEN["iso_ms"]:
        assert protocol.iso_ms(case["ms"]) == case["text"]
    for case in GOLDEN["mask_key"]:
        assert protocol.mask_key(case["key"]) == case["masked"]


def test_kinds_and_key_shares_match_golden() -> None:
    assert list(protocol.KINDS) == GOLDEN["kinds"]
    shares = GOLDEN["shares"]
    assert shares["paths"] == {"share": protocol.PATH_SHARE, "take": protocol.PATH_SHARE_TAKE}
    assert all(re.match(protocol.SHARE_ID_PATTERN, i) for i in shares["valid_ids"])
    assert not any(re.match(protocol.SHARE_ID_PATTERN, i) for i in shares["invalid_ids"])
    assert shares["max_sealed_chars"] == protocol.MAX_SHARE_CHARS
    assert shares["ttl_ms"] == protocol.SHARE_TTL_MS
    assert shares["max_per_account"] == protocol.MAX_SHARES_PER_ACCOUNT
    code = shares["code"]
    assert protocol.normal_code(code["typed"]) == code["normal"]
    assert protocol.normal_code(code["misread"]) == code["normal"]


@pytest.mark.parametrize("case", GOLDEN["history"]["next"], ids=lambda c: c["name"])
def test_record_history_matches_golden(case: dict[str, Any]) -> None:
    assert GOLDEN["history"]["depth"] == protocol.HISTORY_DEPTH
    assert list(protocol.HISTORY_KINDS) == GOLDEN["history"]["kinds"]
    kind, history, replaced, named = (case[k] for k in ("kind", "history", "replaced", "named"))
    assert protocol.next_history(kind, history, replaced, named) == case["next"]


@pytest.mark.parametrize("case", GOLDEN["history"]["in_history"], ids=lambda c: c["name"])
def test_superseded_lookup_matches_golden(case: dict[str, Any]) -> None:
    assert protocol.in_history(case["history"], case["vhash"]) is case["found"]


def _valid() -> dict[str, Any]:
    return dict(GOLDEN["versions"][0]["version"])


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"vhash": "v1:" + "0" * 64}, "vhash does not match"),
        ({"kind": "neuron"}, "kind"),
        ({"id": "../etc/passwd"}, "id"),
        ({"id": "a\x00b"}, "id"),
        ({"strength": 1_000_001}, "strength"),
        ({"strength": "5"}, "strength"),
        ({"hlc": "yesterday"}, "hlc"),
        # Arabic-Indic digits: \d would take them, and string order would stop being clock order
        ({"hlc": "\u0661\u0667\u0663\u0662\u0664\u0666" + "0" * 7 + "-0000-dev-a"}, "hlc"),
        ({"deleted": "yes"}, "deleted"),
        ({"extra": 1}, "extra"),
    ],
)
def test_invalid_versions_are_refused(change: dict[str, Any], fragment: str) -> None:
    data = _valid() | change
    with pytest.raises(ValidationError, match=fragment):
        Version.model_validate(data)


def test_hlc_must_name_the_author() -> None:
    data = _valid() | {"hlc": "1732460000000-0000-dev-z"}
    with pytest.raises(ValidationError, match="hlc must end with"):
        Version.model_validate(data)


def test_tombstone_body_must_be_empty() -> None:
    with pytest.raises(ValidationError, match="tombstone"):
        Version.model_validate(
            {
                **_valid(),
                "deleted": True,
                "vhash": protocol.version_hash(
                    kind="memory",
                    id="x",
                    hlc="1732460000000-0000-dev-a",
                    device_id="dev-a",
                    parent=None,
                    deleted=True,
                    strength=0,
                    body={"content": "kept?"},
                ),
            }
        )


def test_create_computes_a_valid_hash() -> None:
    version = Version.create(
        kind="link", id="l-1", hlc="1732460000000-0001-dev-a", device_id="dev-a", body={"w": 3}
    )
    assert Version.model_validate(version.model_dump(mode="json")) == version
    assert version.size() == len(protocol.canonical_json(version.model_dump(mode="json")))


_ids = st.from_regex(protocol.ID_PATTERN, fullmatch=True)
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(
    kind=st.sampled_from(protocol.KINDS),
    id=_ids,
    device_id=_ids,
    ms=st.integers(0, 10**13 - 1),
    counter=st.integers(0, 0xFFFF),
    parent=st.none() | st.from_regex(protocol.VHASH_PATTERN, fullmatch=True),
    deleted=st.booleans(),
    strength=st.integers(0, protocol.STRENGTH_SCALE),
    body=st.dictionaries(st.text(), _json, max_size=4),
)
def test_a_validated_version_encodes_exactly_as_the_canonical_walk_does(
    kind: str,
    id: str,
    device_id: str,
    ms: int,
    counter: int,
    parent: str | None,
    deleted: bool,
    strength: int,
    body: dict[str, Any],
) -> None:
    """Validation encodes a version's fields by a template, not the walk: same bytes."""
    body = {} if deleted else body
    hlc = f"{ms:013d}-{counter:04x}-{device_id}"
    fields: dict[str, Any] = dict(kind=kind, id=id, hlc=hlc, device_id=device_id, parent=parent)
    walked = protocol.canonical_json(
        {**fields, "deleted": deleted, "strength": strength, "body": body}
    )
    version = Version.create(**fields, deleted=deleted, strength=strength, body=body)
    assert version.canonical() == walked[:-1] + b',"vhash":"' + version.vhash.encode() + b'"}'
    assert version.body_json() == protocol.canonical_json(body).decode("utf-8")


@settings(max_examples=100, deadline=None)
@given(
    kind=st.sampled_from(protocol.KINDS),
    id=_ids,
    device_id=_ids,
    parent=st.none() | st.from_regex(protocol.VHASH_PATTERN, fullmatch=True),
    deleted=st.booleans(),
    strength=st.integers(0, protocol.STRENGTH_SCALE),
    body=st.dictionaries(st.text(), _json, max_size=4),
)
def test_a_view_is_the_version_model_construct_builds(
    kind: str,
    id: str,
    device_id: str,
    parent: str | None,
    deleted: bool,
    strength: int,
    body: dict[str, Any],
) -> None:
    """version_view builds its Version without model_construct (shapes.constructed): the same
    instance, field for field, with the sealed wire's bytes."""
    from neuralmemory.shapes import constructed, version_view

    hlc = f"1732460000000-0000-{device_id}"
    wire = Version.create(
        kind=kind, id=id, hlc=hlc, device_id=device_id, parent=parent, body={"sealed": "AAAA"}
    )
    view = version_view(wire, body=body, deleted=deleted, strength=strength)
    values: dict[str, Any] = {
        "kind": kind,
        "id": id,
        "hlc": hlc,
        "device_id": device_id,
        "parent": parent,
        "deleted": deleted,
        "strength": strength,
        "body": body,
        "vhash": wire.vhash,
    }
    reference = Version.model_construct(**values)
    for built in (view, constructed(dict(values))):
        assert type(built) is Version
        assert built == reference
        assert built.__dict__ == reference.__dict__
        assert built.model_fields_set == reference.model_fields_set
        assert built.__pydantic_extra__ == reference.__pydantic_extra__
        assert built.__pydantic_private__ == reference.__pydantic_private__
        assert built.model_dump() == reference.model_dump()
    assert (view.canonical(), view.body_json()) == (wire.canonical(), wire.body_json())


@settings(max_examples=500, deadline=None)
@given(
    sealed=st.text(alphabet=st.sampled_from('Aa0+/=-_"\\\x00\x1f\x7f é'), max_size=12)
    | st.text()
    | st.binary(max_size=64).map(lambda raw: base64.b64encode(raw).decode()),
    more=st.booleans(),
)
def test_a_sealed_body_encodes_as_the_json_encoder_writes_it(sealed: str, more: bool) -> None:
    """canonical_json writes a sealed body's base64 as it is, when it needs no escape: the bytes
    the encoder writes, for any text (quotes, backslashes, control characters, non-ASCII)."""
    body: dict[str, Any] = {"sealed": sealed, **({"more": 1} if more else {})}
    try:
        expected: bytes | None = json.dumps(
            body, ensure_ascii=False, separators=(",", ":"), sort_keys=True
        ).encode()
    except UnicodeEncodeError:  # a lone surrogate: no canonical form
        expected = None
    if expected is None:
        with pytest.raises(ValueError):
            protocol.canonical_json(body)
    else:
        assert protocol.canonical_json(body) == expected
