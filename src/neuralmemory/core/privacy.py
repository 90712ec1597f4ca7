"""What never goes into a memory or out to an agent: `<private>` spans and secrets.

Text inside `<private>…</private>` is cut out before a memory is stored, and before a prompt is
used as a query. Content that holds a secret (an nmem API key, a cloud or API provider's key, a
private key block) is refused by remember and edit with the kind of secret named, and a stored
memory that holds one (written before this rule, or synced from an older device) is never
injected into an agent's context by the hooks.

The shapes are the providers' documented key formats, matched as whole tokens; a false positive
costs a rephrase, a miss costs a leaked key, so they lean wide.
"""

from __future__ import annotations

import re

# Unclosed <private> hides everything after it: a forgotten closing tag must not leak the rest.
_PRIVATE = re.compile(r"[ \t]*<private>.*?(?:</private>|\Z)[ \t]*", re.IGNORECASE | re.DOTALL)

#: (what the message calls it, its shape), the most specific shapes first
SECRET_SHAPES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern))
    for name, pattern in (
        ("a private key block", r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY( BLOCK)?-----"),
        ("a Neural Memory API key (nmk_...)", r"\bnmk_[A-Za-z0-9]{32,128}\b"),
        ("an AWS access key", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
        ("a GitHub token", r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})"),
        ("an Anthropic API key", r"\bsk-ant-[A-Za-z0-9_-]{20,}"),
        ("an OpenAI API key", r"\bsk-(?:proj-|svcacct-)?[A-Za-z0-9_-]{20,}"),
        ("a Stripe secret key", r"\b[rs]k_live_[0-9A-Za-z]{16,}"),
        ("a Slack token", r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
        ("a Google API key", r"\bAIza[0-9A-Za-z_-]{35}\b"),
    )
)


def strip_private(text: str) -> str:
    """`text` without its `<private>…</private>` spans (tags included), trimmed."""
    if "<" not in text:
        return text
    return _PRIVATE.sub(" ", text).strip()


def find_secret(text: str) -> str | None:
    """What kind of secret `text` holds ("an AWS access key"), or None."""
    for name, shape in SECRET_SHAPES:
        if shape.search(text):
            return name
    return None
