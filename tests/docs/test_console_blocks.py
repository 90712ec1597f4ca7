"""Docs that run: every ```console block in README.md and docs/*.md is executed, and prints what
it shows.

The convention, for whoever writes a doc:

- A ```console block is run. A line starting with `$ ` is a command (a line ending in `\\`
  continues on the next one; a here-document runs to its end marker). Every other line, up to the
  next command, is what the command prints: stdout and stderr together, as a terminal shows them.
- The blocks of one document run in order in one bash session: variables, `export` and `cd` carry
  over from block to block. It starts in an empty home (`HOME=/home/ada`, the working folder;
  `NMEM_HOME` unset, so `~/.neuralmemory`), with this checkout's `nmem` first on PATH.
- `nmem serve ... &` starts a real hub on loopback, on a free port that stands for the one the
  doc names (`--port`, default 8000); the command returns once the hub accepts connections, and
  the hub is stopped when the document ends. Redirect its stderr (`2>hub.log`): its request log
  would otherwise interleave with what the next commands print, in the test as on a terminal.
- `/tmp/...` and `/home/ada/...` in commands are folders of the test's own temporary directory.
- Output is compared after normalising both sides (`normalise`): times and dates, durations in
  ms, ids (`m-`, `b-`, `dev-`, `cf-`, `acc_`, `key_`), API keys and key prefixes, SHA-256 hex
  digests, HLC stamps, invite and pairing codes, the machine's name, the free ports and the
  temporary folders. A line `...` matches any number of lines, and `...` inside a line any text.
- `curl` calls may only reach hubs the document started (a port no `nmem serve ... &` of the doc
  stands for is an error: it would reach whatever else listens there).
- Other fences are not executed: ```sh and ```bash (what cannot run here or offline:
  Cloudflare, wrangler login, sudo, systemd, a foreground `nmem serve`, long benchmarks),
  ```text (output recorded once from a situation the docs cannot make on demand: a real LAN
  address, a split left by an older nmem; say so next to it), ```json and plain ``` (payloads,
  excerpts, file contents).

Each document is a test of its own, in its own session (pytest-xdist spreads them over the
workers). A plain `nmem ...` (no shell syntax) runs through the CLI in the test's process, in the
session's environment and folder, with the same output and exit status as the process; the others,
`nmem serve`, `nmem hook` and every command bash must run, are real processes. They need bash,
curl, jq and openssl on PATH.
"""

from __future__ import annotations

import difflib
import os
import queue
import re
import shlex
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner

from neuralmemory.cli.main import cli

REPO = Path(__file__).resolve().parents[2]
DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
VENV_BIN = Path(sys.executable).parent
END = "__nmem_docs_end__"
COMMAND_DEADLINE_S = 60
TOOLS = ("bash", "curl", "jq", "openssl")
SERVE = re.compile(r"^nmem serve\b(?P<args>[^&]*)&\s*(#.*)?$")
LOOPBACK_PORT = re.compile(r"(?:127\.0\.0\.1|localhost)[:\"', ]+(\d{2,5})\b")
#: paths a doc may use in commands, each a folder of the test's own temporary directory
DOC_PATHS = re.compile(r"(?<![\w.~-])(/tmp/|/home/ada\b)")
#: shell syntax that only bash can run (expansions, pipes, redirections, globs, several commands)
SHELL_SYNTAX = re.compile(r"[$`|&;<>(){}*?\[\]~#\\\n]")
#: commands that stay processes: servers, and hooks (run as the client runs them: a new process)
OWN_PROCESS = {"serve", "mcp", "ui", "hook"}


@dataclass
class Command:
    text: str
    expected: list[str] = field(default_factory=list)
    line: int = 0  # in the document, for messages


def console_blocks(path: Path) -> list[list[Command]]:
    """The commands of each ```console block, with the output each shows."""
    blocks: list[list[Command]] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        if lines[index].strip() == "```console":
            index, block = _parse_block(lines, index + 1)
            blocks.append(block)
        index += 1
    return blocks


def _parse_block(lines: list[str], index: int) -> tuple[int, list[Command]]:
    block: list[Command] = []
    while lines[index].strip() != "```":
        line = lines[index]
        if line.startswith("$ "):
            command = Command(line[2:], line=index + 1)
            marker = re.search(r"<<-?'?(\w+)'?", line)
            while command.text.endswith("\\") or marker:
                index += 1
                command.text += "\n" + lines[index]
                if marker and lines[index].strip() == marker.group(1):
                    marker = None
            block.append(command)
        elif block:
            block[-1].expected.append(line)
        else:
            raise AssertionError(f"line {index + 1}: output before any `$ ` command")
        index += 1
    return index, block


class Session:
    """One bash process for a whole document, in a temporary home, with hubs it started."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.home = root / "home" / "ada"
        self.home.mkdir(parents=True)
        (root / "tmp").mkdir()
        self.ports: dict[str, str] = {}  # the doc's port -> the free port standing for it
        self.hubs: list[int] = []
        env = {
            "PATH": f"{VENV_BIN}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(self.home),
            "LANG": "C.UTF-8",
            "PYTHONUNBUFFERED": "1",  # stdout and stderr interleave as on a terminal
            "COLUMNS": "80",
            "TERM": "dumb",
        }
        self.bash = subprocess.Popen(
            ["bash", "--noprofile", "--norc"],
            cwd=self.home,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.bash.stdout is not None
        for line in self.bash.stdout:
            self.lines.put(line)

    def run(self, command: str) -> tuple[str, int]:
        """What a doc's command printed (stdout and stderr), and its exit status."""
        text = DOC_PATHS.sub(self._local_path, command)
        serve = SERVE.match(text)
        if serve:
            return self._serve(serve.group("args")), 0
        for doc_port, port in self.ports.items():
            text = re.sub(rf"(?<=[:\s=]){doc_port}\b", port, text)
        for found in LOOPBACK_PORT.finditer(text):
            assert found.group(1) in self.ports.values(), (
                f"{command!r} calls port {found.group(1)}, which no `nmem serve ... &` of the doc "
                "started (it would reach whatever else listens there)"
            )
        words = in_process_words(text)
        if words is not None:
            return self._in_process(words)
        return self._shell(text)

    def _in_process(self, words: list[str]) -> tuple[str, int]:
        """A plain `nmem ...` run by the CLI in this process, in the session's environment and
        folder: what it prints and its exit status are the process's, without the ~0.4 s of CPU
        a process start costs. The exit status becomes bash's `$?`, as a process's would."""
        listed, _ = self._shell("env -0")
        env = dict(item.split("=", 1) for item in listed.split("\0") if "=" in item)
        with _environment(env):
            result = CliRunner().invoke(cli, words[1:], prog_name="nmem", catch_exceptions=False)
        self._shell(f"(exit {result.exit_code})")
        return result.output.removesuffix("\n"), result.exit_code

    def _local_path(self, found: re.Match[str]) -> str:
        return f"{self.root}/tmp/" if found.group(1) == "/tmp/" else str(self.home)

    def _shell(self, text: str) -> tuple[str, int]:
        assert self.bash.stdin is not None
        self.bash.stdin.write(
            f"{{ {text}\n}} </dev/null; __rc=$?; printf '\\n{END} %d\\n' $__rc; (exit $__rc)\n"
        )
        self.bash.stdin.flush()
        out: list[str] = []
        deadline = time.monotonic() + COMMAND_DEADLINE_S
        while True:
            line = self.lines.get(timeout=max(0.1, deadline - time.monotonic()))
            if line.startswith(END):
                output = "".join(out)
                return output[:-1] if output.endswith("\n") else output, int(line.split()[1])
            out.append(line)

    def _serve(self, args: str) -> str:
        """Start `nmem serve` in the background on a free port; its output up to readiness."""
        words = shlex.split(args, comments=False)
        doc_port = words[words.index("--port") + 1] if "--port" in words else "8000"
        port = str(_free_port())
        self.ports[doc_port] = port
        if "--port" in words:
            args = re.sub(rf"--port\s+{doc_port}\b", f"--port {port}", args)
        else:
            args += f" --port {port}"
        log = self.root / f"serve-{port}.out"
        # the doc's own redirections come after this one, so they win
        output, _ = self._shell(f"nmem serve >{log} {args} &\necho $! >{log}.pid")
        assert not output, output
        self.hubs.append(int(Path(f"{log}.pid").read_text()))
        _listening(int(port), self.hubs[-1])  # what it printed says why, when it did not start
        return log.read_text().rstrip("\n")

    def close(self) -> None:
        for pid in self.hubs:
            _stop(pid)
        for stream in (self.bash.stdin, self.bash.stdout):
            if stream is not None:
                stream.close()
        try:
            self.bash.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.bash.pid, 9)
            self.bash.wait()

    def normalise(self, text: str) -> str:
        """Output as a doc shows it: this run's ports and folders back to the doc's, and the
        values that differ from run to run as placeholders."""
        text = text.replace(str(VENV_BIN), "/home/ada/neural-memory/.venv/bin")
        text = text.replace(str(self.home), "/home/ada").replace(f"{self.root}/tmp/", "/tmp/")
        for doc_port, port in self.ports.items():
            text = re.sub(rf"\b{port}\b", doc_port, text)
        return normalise(text)


def in_process_words(command: str) -> list[str] | None:
    """The words of a command the CLI can run in this process: `nmem` with plain arguments;
    None for anything bash must run (shell syntax) or that must be a process of its own."""
    if SHELL_SYNTAX.search(command):
        return None
    words = shlex.split(command)
    if len(words) < 2 or words[0] != "nmem" or words[1] in OWN_PROCESS:
        return None
    return words


@contextmanager
def _environment(env: dict[str, str]) -> Iterator[None]:
    """This process's environment and working folder set to a session's (PWD: bash's folder)."""
    before, folder = dict(os.environ), os.getcwd()
    os.environ.clear()
    os.environ.update(env)
    os.chdir(env["PWD"])
    try:
        yield
    finally:
        os.chdir(folder)
        os.environ.clear()
        os.environ.update(before)


def normalise(text: str) -> str:
    """The values that differ from run to run, as placeholders (applied to both sides)."""
    host = re.escape(socket.gethostname())
    rules = [
        (rf"\b{host} \(dev-", "vm (dev-"),
        (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", "<time>"),
        (r"\d{4}-\d\d-\d\d \d\d:\d\d(:\d\d,\d{3})?", "<time>"),
        (r"\b\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT", "<time>"),
        # Not \b: in markdown emphasis ("remembered 2026-12-05_") a date ends in a word character.
        (r"(?<!\d)\d{4}-\d\d-\d\d(?!\d)", "<date>"),
        (r"\b\d{13}-[0-9a-f]{4}-", "<hlc>-"),
        (r"\b\d+(\.\d+)? ?ms\b", "<n> ms"),
        (r"\b(m|b|dev|cf)-[0-9a-f]{8,}", r"\1-<id>"),
        (r"\b(acc|key)_[0-9a-f]{20}\b", r"\1_<id>"),
        (r"\bnmk_[A-Za-z0-9]{40}\b", "nmk_<key>"),
        (r"\bnmk_[A-Za-z0-9]{8}\b", "nmk_<prefix>"),
        (r"\b[0-9a-f]{64}\b", "<sha256>"),
        (r"\b[0-9A-Z]{4}(-[0-9A-Z]{4}){3,4}\b", "<code>"),
        (r"server process \[\d+\]", "server process [<pid>]"),
    ]
    for pattern, placeholder in rules:
        text = re.sub(pattern, placeholder, text)
    return "\n".join(line.rstrip() for line in text.splitlines())


def matches(expected: str, actual: str) -> bool:
    """Whether actual is what expected shows; `...` as a line is any lines, in a line any text."""
    pattern = ""
    for line in expected.splitlines():
        if line.strip() == "...":
            pattern += r"(?:[^\n]*\n)*?"
        else:
            pattern += "[^\n]*".join(re.escape(piece) for piece in line.split("...")) + "\n"
    return re.fullmatch(pattern, actual + "\n" if actual else "") is not None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _listening(port: int, pid: int, deadline_s: float = 30) -> bool:
    """True once the hub accepts connections; False when it exited (its output says why)."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.05)
    raise AssertionError(f"nmem serve did not listen on port {port} within {deadline_s} s")


def _stop(pid: int) -> None:
    try:
        os.kill(pid, 15)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    os.kill(pid, 9)


def run_document(document: Path, root: Path) -> list[str]:
    """Every command of the document in one session; a diff for each that printed otherwise."""
    failures = []  # all of a document's, so one run shows every block to fix
    session = Session(root)
    try:
        for block in console_blocks(document):
            for command in block:
                output, _ = session.run(command.text)
                expected = normalise("\n".join(command.expected))
                actual = session.normalise(output)
                if not matches(expected, actual):
                    failures.append(
                        f"{document.name}:{command.line}: $ {command.text}\n"
                        + _diff(expected, actual)
                    )
    finally:
        session.close()
    return failures


def _diff(expected: str, actual: str) -> str:
    lines = difflib.unified_diff(expected.splitlines(), actual.splitlines(), lineterm="")
    return "\n".join(["--- the doc", "+++ the run", *list(lines)[2:]])


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_every_console_block_prints_what_it_shows(document: Path, tmp_path: Path) -> None:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    assert not missing, f"the docs' examples need {', '.join(missing)} on PATH"
    failures = run_document(document, tmp_path / "doc")
    if failures:
        pytest.fail("\n\n".join(failures), pytrace=False)


def test_the_matcher_and_normaliser() -> None:
    assert matches("a\n...\nz", "a\nb\nc\nz")
    assert matches("a\n...\nz", "a\nz")
    assert matches("...", "") and matches("", "")
    assert not matches("", "a")
    assert matches('{"id": ..., "x": 1}', '{"id": "m-1", "y": 2, "x": 1}')
    assert not matches("a\nz", "a\nb\nz")
    assert normalise("in 53 ms at 2026-11-24T17:00:06.844Z") == "in <n> ms at <time>"
    assert normalise("m-990f920c7430320733344ceb key_169269062979ba693a9e") == ("m-<id> key_<id>")
    assert normalise("_remembered 2026-12-05_ on 2026-12-06.") == "_remembered <date>_ on <date>."
