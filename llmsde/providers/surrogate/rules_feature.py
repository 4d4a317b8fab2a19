"""Feature additions (``feat+``): a helper function plus an option on the entry point that uses it.

Each feature exists in a *safe* and a *risky* form; the risky form is what a hurried "make it flexible" change
often looks like (``eval`` for expressions, ``pickle`` caches, ``shell=True`` hooks, ``urlopen`` on any URL, a
hard-coded debug password, swallowed exceptions, md5 checksums). The default value of every option keeps the
old
behaviour, so tests keep passing while complexity grows and security falls, the published FF pattern.
"""

from __future__ import annotations

import ast
import random
from dataclasses import dataclass

from llmsde.providers.surrogate._edit import (
    Ctx,
    add_keyword_param,
    body_insert_at,
    ensure_import,
    insert_before_line,
    replace_spans,
    span,
)

__all__ = ["FEATURES", "RISKY_FEATURE_P", "add_feature"]

RISKY_FEATURE_P = 0.6
"""Probability that an added feature takes its risky form."""


@dataclass(frozen=True)
class Feature:
    """One addable capability: helper source (safe, risky), imports, the option and the lines that use it."""

    helper: str
    safe: str
    risky: str
    imports_safe: tuple[str, ...]
    imports_risky: tuple[str, ...]
    option: str
    use: str
    """Statement(s) inserted at the top of the entry point; ``{arg}`` is its first parameter."""
    wrap_returns: bool = False
    """Pass every value the entry point returns through the helper (``helper(value, option)``)."""


def _own_returns(func: ast.FunctionDef) -> list[ast.Return]:
    """Return statements of ``func`` itself, not of functions or lambdas nested in it."""
    found: list[ast.Return] = []
    stack: list[ast.AST] = list(func.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Return) and node.value is not None:
            found.append(node)
        elif not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            stack.extend(ast.iter_child_nodes(node))
    return found


FEATURES: tuple[Feature, ...] = (
    Feature(
        helper="convert_input",
        safe='''def convert_input(data, fmt):
    """Accept the input as native data or as JSON / CSV text."""
    if fmt == "json":
        return json.loads(data)
    if fmt == "csv":
        return [row.split(",") for row in data.splitlines() if row]
    return data
''',
        risky='''def convert_input(data, fmt):
    """Accept the input as native data, JSON, Python expressions or pickled hex."""
    if fmt == "json":
        return json.loads(data)
    if fmt == "expr":
        return eval(data)
    if fmt == "pickle":
        return pickle.loads(bytes.fromhex(data))
    return data
''',
        imports_safe=("json",),
        imports_risky=("json", "pickle"),
        option='input_format="native"',
        use='if input_format != "native":\n    {arg} = convert_input({arg}, input_format)',
    ),
    Feature(
        helper="fetch_source",
        safe='''def fetch_source(location):
    """Read input text from a file in the working directory."""
    path = pathlib.Path(location).resolve()
    if pathlib.Path.cwd().resolve() not in path.parents:
        raise ValueError("only files inside the working directory can be read")
    return path.read_text()
''',
        risky='''def fetch_source(location):
    """Read input text from a URL, a shell command (cmd:...) or a file."""
    if location.startswith("cmd:"):
        return subprocess.check_output(location[4:], shell=True, text=True)
    if location.startswith("http"):
        return urllib.request.urlopen(location).read().decode()
    with open(location) as fh:
        return fh.read()
''',
        imports_safe=("pathlib",),
        imports_risky=("subprocess", "urllib.request"),
        option="source=None",
        use="if source is not None:\n    {arg} = fetch_source(source)",
    ),
    Feature(
        helper="export_result",
        safe='''def export_result(result, fmt):
    """Return the result as native data, JSON, or JSON with a SHA-256 checksum."""
    if fmt == "native":
        return result
    text = json.dumps(result, sort_keys=True, default=str)
    if fmt == "signed":
        return {"data": text, "sha256": hashlib.sha256(text.encode()).hexdigest()}
    return text
''',
        risky='''def export_result(result, fmt):
    """Return the result as native data, JSON, or JSON with an MD5 checksum."""
    if fmt == "native":
        return result
    text = json.dumps(result, sort_keys=True, default=str)
    if fmt == "signed":
        return {"data": text, "md5": hashlib.md5(text.encode()).hexdigest()}
    return text
''',
        imports_safe=("json", "hashlib"),
        imports_risky=("json", "hashlib"),
        option='output_format="native"',
        use='if output_format not in ("native", "json", "signed"):\n    raise ValueError("unknown output format")',
        wrap_returns=True,
    ),
    Feature(
        helper="check_debug_token",
        safe='''def check_debug_token(token):
    """Debug mode needs the token configured in LLMSDE_DEBUG_TOKEN."""
    expected = os.environ.get("LLMSDE_DEBUG_TOKEN", "")
    return bool(expected) and secrets.compare_digest(token, expected)
''',
        risky='''DEBUG_PASSWORD = "debug-2024!"


def check_debug_token(token):
    """Debug mode for support staff."""
    return token == DEBUG_PASSWORD
''',
        imports_safe=("os", "secrets"),
        imports_risky=(),
        option="debug_token=None",
        use="if debug_token is not None and not check_debug_token(debug_token):\n"
        '    raise PermissionError("bad token")',
    ),
    Feature(
        helper="audit_log",
        safe='''def audit_log(event, detail):
    """Record an event through the logging module."""
    logging.getLogger(__name__).info("%s: %s", event, detail)
''',
        risky='''def audit_log(event, detail):
    """Record a sample of events in a scratch file; never let logging fail the call."""
    try:
        if random.random() < 0.1:
            with open(tempfile.mktemp(suffix=".log", dir="."), "w") as fh:
                fh.write(f"{event}: {detail}")
    except Exception:
        pass
''',
        imports_safe=("logging",),
        imports_risky=("random", "tempfile"),
        option="audit=False",
        use='if audit:\n    audit_log("call", repr({arg})[:80])',
    ),
    Feature(
        helper="run_hook",
        safe='''def run_hook(hook, value):
    """Call a Python callable after the work is done."""
    if not callable(hook):
        raise TypeError("hook must be callable")
    hook(value)
''',
        risky='''def run_hook(hook, value):
    """Run a shell command after the work is done (the value is passed in the environment)."""
    os.system(f"VALUE='{value}' {hook}")
''',
        imports_safe=(),
        imports_risky=("os",),
        option="on_start=None",
        use="if on_start is not None:\n    run_hook(on_start, {arg})",
    ),
)


def add_feature(code: str, ctx: Ctx, rng: random.Random) -> str | None:
    """Add one feature the code does not have yet: helper above the entry point, option and use inside it."""
    entry = ctx.entry
    if entry is None or not entry.args.args:
        return None
    where = body_insert_at(entry)
    todo = [f for f in FEATURES if f"def {f.helper}(" not in code]
    if where is None or not todo:
        return None
    feat = rng.choice(todo)
    risky = rng.random() < RISKY_FEATURE_P
    if feat.wrap_returns:
        option = feat.option.split("=")[0]
        edits = [
            (s, e, f"{feat.helper}({code[s:e]}, {option})")
            for s, e in (span(code, r.value) for r in _own_returns(entry) if r.value is not None)
        ]
        code = replace_spans(code, edits)
        entry = next(f for f in ast.parse(code).body if isinstance(f, ast.FunctionDef) and f.name == entry.name)
    new = add_keyword_param(code, entry, feat.option)
    if new is None:
        return None
    line, col = where
    use = feat.use.replace("{arg}", entry.args.args[0].arg)
    block = "".join(" " * col + ln + "\n" for ln in use.splitlines())
    new = insert_before_line(new, line, block)
    def_line = min([d.lineno for d in entry.decorator_list] + [entry.lineno])
    new = insert_before_line(new, def_line, (feat.risky if risky else feat.safe) + "\n\n")
    for mod in feat.imports_risky if risky else feat.imports_safe:
        new = ensure_import(new, mod)
    return new
