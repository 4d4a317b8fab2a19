"""Security rewrites: swap an unsafe idiom for a safe one (``sec+``) or back (``sec-``).

Each rule is a pure function ``(code, ctx, rng) -> new code | None`` (None: nothing to act on). Every ``sec-``
rule undoes a ``sec+`` rule, so the idioms bandit sees move back and forth under the strategies' pressures.
"""

from __future__ import annotations

import ast
import random
import re

from llmsde.providers.surrogate._edit import Ctx, ensure_import, indent_of, replace_spans, span

__all__ = ["SEC_DOWN", "SEC_UP"]

_RISKY_CALLS = {"eval", "exec", "loads", "load", "urlopen", "system", "popen"}


def _seg(code: str, node: ast.AST) -> str:
    s, e = span(code, node)
    return code[s:e]


def weak_hash_up(code: str, ctx: Ctx, rng: random.Random) -> str | None:
    new = re.sub(r"hashlib\.(md5|sha1)\(", "hashlib.sha256(", code)
    return new if new != code else None


def weak_hash_down(code: str, ctx: Ctx, rng: random.Random) -> str | None:
    hits = list(re.finditer(r"hashlib\.sha256\(", code))
    if not hits:
        return None
    m = rng.choice(hits)
    return code[: m.start()] + f"hashlib.{rng.choice(['md5', 'sha1'])}(" + code[m.end() :]


def secrets_up(code: str, ctx: Ctx, rng: random.Random) -> str | None:
    new = re.sub(
        r"(?<![\w.])random\.(choice|choices|randint|randrange|random|sample|shuffle)\(",
        r"secrets.SystemRandom().\1(",
        code,
    )
    new = new.replace("secrets.SystemRandom().choice(", "secrets.choice(")
    return None if new == code else ensure_import(new, "secrets")


def secrets_down(code: str, ctx: Ctx, rng: random.Random) -> str | None:
    new = code.replace("secrets.SystemRandom().", "random.").replace("secrets.choice(", "random.choice(")
    return None if new == code else ensure_import(new, "random")


def literal_eval_up(code: str, ctx: Ctx, rng: random.Random) -> str | None:
    new = re.sub(r"(?<![\w.])eval\(", "ast.literal_eval(", code)
    return None if new == code else ensure_import(new, "ast")


def literal_eval_down(code: str, ctx: Ctx, rng: random.Random) -> str | None:
    new = code.replace("ast.literal_eval(", "eval(")
    return None if new == code else new


def _execute_calls(tree: ast.Module) -> list[ast.Call]:
    return [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in {"execute", "executemany"}
    ]


def sql_params_up(code: str, ctx: Ctx, rng: random.Random) -> str | None:
    """f-string SQL -> a ``?`` query with a parameter tuple (quotes around a placeholder go too)."""
    edits = []
    for call in _execute_calls(ctx.tree):
        if len(call.args) != 1 or call.keywords or not isinstance(call.args[0], ast.JoinedStr):
            continue
        sql, params, ok = "", [], True
        for part in call.args[0].values:
            if isinstance(part, ast.Constant):
                sql += str(part.value)
            elif isinstance(part, ast.FormattedValue) and part.conversion == -1 and part.format_spec is None:
                sql += "\x00"
                params.append(_seg(code, part.value))
            else:
                ok = False
        if not ok or not params:
            continue
        sql = sql.replace("'\x00'", "?").replace("\x00", "?").replace("\\", "\\\\").replace('"', '\\"')
        tup = f"({params[0]},)" if len(params) == 1 else f"({', '.join(params)})"
        s, e = span(code, call)
        edits.append((s, e, f'{_seg(code, call.func)}("{sql}", {tup})'))
    return replace_spans(code, edits) if edits else None


def sql_params_down(code: str, ctx: Ctx, rng: random.Random) -> str | None:
    """A ``?`` query with a tuple -> an f-string with the values pasted in quotes (the classic injection)."""
    options = []
    for call in _execute_calls(ctx.tree):
        if len(call.args) != 2 or not isinstance(call.args[0], ast.Constant) or not isinstance(call.args[1], ast.Tuple):
            continue
        sql = call.args[0].value
        if not isinstance(sql, str) or "{" in sql or '"' in sql or sql.count("?") != len(call.args[1].elts):
            continue
        pieces = sql.split("?")
        text = pieces[0]
        for elt, rest in zip(call.args[1].elts, pieces[1:], strict=True):
            text += "'{" + _seg(code, elt) + "}'" + rest
        options.append((call, f'{_seg(code, call.func)}(f"{text}")'))
    if not options:
        return None
    call, text = rng.choice(options)
    s, e = span(code, call)
    return code[:s] + text + code[e:]


def pickle_up(code: str, ctx: Ctx, rng: random.Random) -> str | None:
    """``pickle.loads(pickle.dumps(x))`` -> ``copy.deepcopy(x)``; other pickle calls -> json."""
    edits, mods = [], set()
    for n in ast.walk(ctx.tree):
        if isinstance(n, ast.Call) and _seg(code, n.func) == "pickle.loads" and len(n.args) == 1:
            inner = n.args[0]
            if isinstance(inner, ast.Call) and _seg(code, inner.func) == "pickle.dumps" and len(inner.args) == 1:
                s, e = span(code, n)
                edits.append((s, e, f"copy.deepcopy({_seg(code, inner.args[0])})"))
                mods.add("copy")
    if not edits:
        new = re.sub(r"pickle\.(loads|dumps)\(", r"json.\1(", code)
        return None if new == code else ensure_import(new, "json")
    out = replace_spans(code, edits)
    for mod in mods:
        out = ensure_import(out, mod)
    return out


def pickle_down(code: str, ctx: Ctx, rng: random.Random) -> str | None:
    new = re.sub(r"copy\.deepcopy\(([^()]*)\)", r"pickle.loads(pickle.dumps(\1))", code)
    return None if new == code else ensure_import(new, "pickle")


def shell_up(code: str, ctx: Ctx, rng: random.Random) -> str | None:
    edits = []
    for n in ast.walk(ctx.tree):
        if not isinstance(n, ast.Call) or not n.args:
            continue
        func = _seg(code, n.func)
        shell = [k for k in n.keywords if k.arg == "shell"]
        if func.startswith("subprocess.") and shell:
            args = [f"shlex.split({_seg(code, n.args[0])})", *(_seg(code, a) for a in n.args[1:])]
            args += [_seg(code, k) for k in n.keywords if k.arg != "shell"]
            edits.append((*span(code, n), f"{func}({', '.join(args)})"))
        elif func == "os.system" and len(n.args) == 1:
            edits.append((*span(code, n), f"subprocess.run(shlex.split({_seg(code, n.args[0])})).returncode"))
    if not edits:
        return None
    out = ensure_import(ensure_import(replace_spans(code, edits), "shlex"), "subprocess")
    return out


def shell_down(code: str, ctx: Ctx, rng: random.Random) -> str | None:
    new = re.sub(r"(subprocess\.\w+)\(shlex\.split\(([^()]*)\)", r"\1(\2, shell=True", code)
    return None if new == code else new


def mktemp_up(code: str, ctx: Ctx, rng: random.Random) -> str | None:
    for n in ast.walk(ctx.tree):
        if (
            isinstance(n, ast.Assign)
            and len(n.targets) == 1
            and isinstance(n.targets[0], ast.Name)
            and isinstance(n.value, ast.Call)
            and _seg(code, n.value.func) == "tempfile.mktemp"
        ):
            s, e = span(code, n)
            pad = indent_of(code, n.lineno)
            call = _seg(code, n.value).replace("tempfile.mktemp(", "tempfile.mkstemp(", 1)
            text = f"fd_, {n.targets[0].id} = {call}\n{pad}os.close(fd_)"
            return ensure_import(code[:s] + text + code[e:], "os")
    return None


def mktemp_down(code: str, ctx: Ctx, rng: random.Random) -> str | None:
    m = re.search(r"fd_, (\w+) = tempfile\.mkstemp\((.*)\)\n[ \t]*os\.close\(fd_\)", code)
    if not m:
        return None
    return code[: m.start()] + f"{m.group(1)} = tempfile.mktemp({m.group(2)})" + code[m.end() :]


_SECRET_NAME = re.compile(r"(?i)(pass|pwd|secret|api_?key|token_?key)")


def password_up(code: str, ctx: Ctx, rng: random.Random) -> str | None:
    for n in ast.walk(ctx.tree):
        if (
            isinstance(n, ast.Assign)
            and len(n.targets) == 1
            and isinstance(n.targets[0], ast.Name)
            and _SECRET_NAME.search(n.targets[0].id)
            and isinstance(n.value, ast.Constant)
            and isinstance(n.value.value, str)
            and n.value.value
        ):
            s, e = span(code, n.value)
            env = n.targets[0].id.upper()
            return ensure_import(code[:s] + f'os.environ.get("{env}", "")' + code[e:], "os")
    return None


def password_down(code: str, ctx: Ctx, rng: random.Random) -> str | None:
    m = re.search(r"^([ \t]*\w*(?i:pass|pwd|secret)\w* = )os\.environ\.get\(\"\w+\", \"\"\)", code, re.M)
    if not m:
        return None
    return code[: m.start()] + m.group(1) + repr(rng.choice(["admin123", "changeme", "letmein!"])) + code[m.end() :]


def assert_up(code: str, ctx: Ctx, rng: random.Random) -> str | None:
    """Every ``assert cond, msg`` -> ``if not (cond): raise ValueError(msg)`` (asserts vanish under -O)."""
    edits = []
    for n in ast.walk(ctx.tree):
        if isinstance(n, ast.Assert):
            pad = indent_of(code, n.lineno)
            msg = _seg(code, n.msg) if n.msg is not None else '"invalid input"'
            edits.append((*span(code, n), f"if not ({_seg(code, n.test)}):\n{pad}    raise ValueError({msg})"))
    return replace_spans(code, edits) if edits else None


def assert_down(code: str, ctx: Ctx, rng: random.Random) -> str | None:
    hits = list(re.finditer(r"^([ \t]*)if not \((.+)\):\n[ \t]+raise ValueError\((.*)\)[ \t]*$", code, re.M))
    if not hits:
        return None
    m = rng.choice(hits)
    return code[: m.start()] + f"{m.group(1)}assert {m.group(2)}, {m.group(3)}" + code[m.end() :]


_LOG_IGNORED = 'logging.getLogger(__name__).debug("ignored error", exc_info=True)'


def except_pass_up(code: str, ctx: Ctx, rng: random.Random) -> str | None:
    edits = []
    for n in ast.walk(ctx.tree):
        if isinstance(n, ast.ExceptHandler) and len(n.body) == 1 and isinstance(n.body[0], ast.Pass):
            edits.append((*span(code, n.body[0]), _LOG_IGNORED))
    return ensure_import(replace_spans(code, edits), "logging") if edits else None


def except_pass_down(code: str, ctx: Ctx, rng: random.Random) -> str | None:
    return code.replace(_LOG_IGNORED, "pass", 1) if _LOG_IGNORED in code else None


def disable_risky_branch(code: str, ctx: Ctx, rng: random.Random) -> str | None:
    """An option branch (``if fmt == "x":`` / ``if src.startswith(..)``) doing eval/pickle/shell/urlopen ->
    raise.

    Only selector tests on a plain name count, so core logic such as ``if op[0] == "set":`` is never disabled.
    """
    options = []
    for n in ast.walk(ctx.tree):
        if not isinstance(n, ast.If):
            continue
        test = n.test
        selector = (
            isinstance(test, ast.Compare)
            and isinstance(test.left, ast.Name)
            and any(isinstance(c, ast.Constant) and isinstance(c.value, str) for c in test.comparators)
        ) or (
            isinstance(test, ast.Call)
            and isinstance(test.func, ast.Attribute)
            and test.func.attr == "startswith"
            and isinstance(test.func.value, ast.Name)
        )
        risky = any(
            isinstance(c, ast.Call)
            and (
                (isinstance(c.func, ast.Name) and c.func.id in {"eval", "exec"})
                or (isinstance(c.func, ast.Attribute) and c.func.attr in _RISKY_CALLS)
                or any(k.arg == "shell" for k in c.keywords)
            )
            for stmt in n.body
            for c in ast.walk(stmt)
        )
        if selector and risky:
            options.append(n)
    if not options:
        return None
    node = rng.choice(options)
    start = span(code, node.body[0])[0]
    end = span(code, node.body[-1])[1]
    return code[:start] + 'raise ValueError("this option is disabled for safety")' + code[end:]


SEC_UP = (
    weak_hash_up,
    secrets_up,
    literal_eval_up,
    sql_params_up,
    pickle_up,
    shell_up,
    mktemp_up,
    password_up,
    assert_up,
    except_pass_up,
    disable_risky_branch,
)
SEC_DOWN = (
    weak_hash_down,
    secrets_down,
    literal_eval_down,
    sql_params_down,
    pickle_down,
    shell_down,
    mktemp_down,
    password_down,
    assert_down,
    except_pass_down,
)
