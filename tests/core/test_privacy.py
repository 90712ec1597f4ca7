"""Secrets are refused by remember and edit (the kind named), `<private>` spans never stored."""

from __future__ import annotations

from pathlib import Path

import pytest

from neuralmemory.core.brains import open_brain
from neuralmemory.core.privacy import find_secret, strip_private
from neuralmemory.errors import InvalidInput

SECRETS = [
    ("an nmem key nmk_" + "A1b2" * 10, "a Neural Memory API key (nmk_...)"),
    ("aws AKIAIOSFODNN7EXAMPLE for staging", "an AWS access key"),
    ("token ghp_" + "x" * 36, "a GitHub token"),
    ("github_pat_11ABCDEFG0123456789_abcdefghij", "a GitHub token"),
    ("ANTHROPIC_API_KEY=sk-ant-api03-" + "a" * 30, "an Anthropic API key"),
    ("OPENAI_API_KEY=sk-proj-" + "b" * 40, "an OpenAI API key"),
    ("stripe sk_live_" + "c" * 24, "a Stripe secret key"),
    ("slack xoxb-1234567890-abcdefghij", "a Slack token"),
    ("maps AIza" + "d" * 35, "a Google API key"),
    ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk=\n", "a private key block"),
    ("-----BEGIN RSA PRIVATE KEY-----", "a private key block"),
]


@pytest.mark.parametrize(("text", "kind"), SECRETS)
def test_each_kind_of_secret_is_found_and_refused_by_name(home: Path, text: str, kind: str) -> None:
    assert find_secret(text) == kind
    with open_brain() as brain, pytest.raises(InvalidInput) as caught:
        brain.remember(text)
    assert f"content holds {kind}; secrets are never stored" in str(caught.value)
    assert caught.value.hint


@pytest.mark.parametrize(
    "text",
    [
        "the key is stored in AWS Secrets Manager",
        "sk-short",
        "nmk_ keys are masked as nmk_a1b2c3d4****",
        "ask-ant-colony",
        "Use the BEGIN PUBLIC KEY block",
    ],
)
def test_ordinary_text_is_not_a_secret(text: str) -> None:
    assert find_secret(text) is None


def test_private_spans_are_never_stored(home: Path) -> None:
    with open_brain() as brain:
        memory = brain.remember("Door code <private>4711</private> is on the wiki").memory
        assert memory.content == "Door code is on the wiki"
        edited = brain.edit(memory.id, content="<PRIVATE>x</PRIVATE>Wiki page moved")
        assert edited.content == "Wiki page moved"
        with pytest.raises(InvalidInput, match=r"all inside <private>"):
            brain.remember("<private>only this</private>")
        with pytest.raises(InvalidInput, match="secrets are never stored"):
            brain.edit(memory.id, content="now with AKIAIOSFODNN7EXAMPLE")
    # an unclosed tag hides everything after it
    assert strip_private("keep <private>drop all of this") == "keep"
