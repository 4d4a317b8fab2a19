"""Pull the Python program out of a model's reply.

Models wrap code in many ways: one fenced block with or without a language tag, several blocks (a "before" and
an "after", a usage example, a shell command), prose around a bare program, a fence cut off by the token
limit, a reasoning preamble in ``<think>`` tags, or no code at all. Scoring needs one program or an explicit
"none", so the rules are:

1. Drop ``<think>...</think>`` sections (reasoning models put drafts there).
2. Collect fenced blocks (```` ``` ```` or ``~~~``, any length >= 3, possibly indented); an unterminated
   fence runs to the end of the reply. Blocks tagged with a non-Python language (``bash``, ``json``,
   ``text``...) are ignored.
3. Among the remaining blocks, prefer those that define the entry point (``def name(``, ``async def``,
   ``class``, ``name = ...``); among several such blocks, or when none defines it, take the longest
   Python-looking one (the last on a tie, since models usually put the final version last).
4. With no fenced block: the whole reply if it parses as a Python module with at least one statement that
   is not a bare expression; else the longest run of lines, starting at a ``def``/``class``/``import``/
   decorator line, that parses.
5. Otherwise None: the iteration records "no code" and scores it as unparseable.
"""

from __future__ import annotations

import ast
import re
import textwrap
from typing import NamedTuple

from llmsde._ast_guard import parse_python

__all__ = ["extract_code"]

_THINK = re.compile(r"<think>.*?(?:</think>|\Z)", re.DOTALL | re.IGNORECASE)
_FENCE_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<tag>[^\s`{]*)")
_PYTHON_TAGS = frozenset({"", "python", "py", "python3", "py3", "python2", "ipython", "pycon", "sage"})
_CODE_START = re.compile(r"^(?:async[ \t]+def|def|class|import|from[ \t]+\S+[ \t]+import|@)\b|^@")
_PY_HINT = re.compile(r"^[ \t]*(?:def |class |import |from \S+ import |return\b|if .*:$|for .*:$|@\w)", re.M)


class _Block(NamedTuple):
    """One fenced block: its language tag (lower case, '' when absent) and its dedented body."""

    tag: str
    body: str


def _tag_name(raw: str) -> str:
    """``Python:solution.py`` -> ``python``; ``.py`` -> ``py``; ``{`` or nothing -> ``''``."""
    m = re.match(r"[a-z0-9_+#-]+", raw.lower().lstrip("."))
    return m.group() if m else ""


def _fenced_blocks(text: str) -> list[_Block]:
    """Fenced blocks in order; a fence left open runs to the end of the text (a reply cut by max_tokens)."""
    blocks: list[_Block] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = _FENCE_OPEN.match(lines[i])
        if m is None:
            i += 1
            continue
        fence = m.group("fence")
        tag = _tag_name(m.group("tag"))
        close = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        body: list[str] = []
        i += 1
        while i < len(lines) and not close.match(lines[i]):
            body.append(lines[i])
            i += 1
        i += 1
        blocks.append(_Block(tag, textwrap.dedent("\n".join(body)).strip("\n")))
    return blocks


def _parse(code: str) -> ast.Module:
    """``ast.parse`` under the process-wide AST lock (see :mod:`llmsde._ast_guard`)."""
    return parse_python(code)


def _parses(code: str) -> bool:
    try:
        _parse(code)
    except (SyntaxError, ValueError, SystemError):
        return False
    return True


def _defines(code: str, entry_point: str) -> bool:
    name = re.escape(entry_point)
    pattern = rf"^[ \t]*(?:(?:async[ \t]+)?def|class)[ \t]+{name}\b|^{name}[ \t]*(?::[^=]*)?="
    return re.search(pattern, code, re.M) is not None


def _looks_python(block: _Block) -> bool:
    if not block.body.strip():
        return False
    if block.tag in _PYTHON_TAGS - {""}:
        return True
    return _parses(block.body) or _PY_HINT.search(block.body) is not None


def _is_program(code: str) -> bool:
    """True when ``code`` parses and holds at least one real statement (prose like "Sure." parses as an
    expression)."""
    try:
        tree = _parse(code)
    except (SyntaxError, ValueError, SystemError):
        return False
    return any(not isinstance(node, ast.Expr) for node in tree.body)


def _bare_code(text: str) -> str | None:
    """The longest parseable run of lines that starts at a code-like line, for replies without fences."""
    lines = text.splitlines()
    best: str | None = None
    for start, line in enumerate(lines):
        if not _CODE_START.match(line):
            continue
        if best is not None and len(lines) - start <= best.count("\n") + 1:
            break
        ends = [e for e in range(len(lines), start, -1) if e == len(lines) or not lines[e][:1].isspace()]
        for end in ends:
            candidate = "\n".join(lines[start:end]).strip("\n")
            if _is_program(candidate):
                if best is None or len(candidate) > len(best):
                    best = candidate
                break
    return best


def _finish(code: str) -> str:
    return code.rstrip() + "\n"


def extract_code(reply: str, entry_point: str | None) -> str | None:
    """The program in ``reply`` (see the module docstring for the rules), or None when it holds no code.

    ``entry_point`` (the function the tests call) picks among several blocks; None skips that preference.
    The result ends with one newline; it may still fail to parse (e.g. an unterminated fence), which scoring
    reports as a syntax error rather than as "no code".
    """
    text = _THINK.sub("", reply)
    candidates = [b for b in _fenced_blocks(text) if b.tag in _PYTHON_TAGS and _looks_python(b)]
    if not candidates:
        candidates = [b for b in _fenced_blocks(text) if _parses(b.body) and _is_program(b.body)]
    if candidates:
        if entry_point:
            defining = [b for b in candidates if _defines(b.body, entry_point)]
            candidates = defining or candidates
        best = max(enumerate(candidates), key=lambda ib: (len(ib[1].body), ib[0]))[1]
        return _finish(best.body)
    stripped = text.strip("\n")
    if stripped.strip() and _is_program(stripped):
        return _finish(textwrap.dedent(stripped))
    found = _bare_code(text)
    return None if found is None else _finish(found)
