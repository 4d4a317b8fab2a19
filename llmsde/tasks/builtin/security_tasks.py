"""Built-in tasks whose seed code is insecure in a way bandit really reports.

Each seed works (or nearly: ``find_users`` breaks on names with quotes, as string-built SQL does) but uses an
idiom a security review should replace: weak hashes, ``eval``, SQL built from strings, ``random`` for secrets,
``assert`` for validation, ``mktemp``. The references are the hardened versions and pass every test.
"""

from __future__ import annotations

from llmsde.tasks.builtin._data import Lcg
from llmsde.tasks.model import AssertCase, IOCase, Task, Workload

__all__ = ["security_tasks"]

_GROUP_SEED = """import hashlib


def group_duplicates(files):
    groups = {}
    for name, content in files.items():
        key = hashlib.md5(content.encode("utf-8")).hexdigest()
        groups.setdefault(key, []).append(name)
    result = []
    for names in groups.values():
        if len(names) > 1:
            result.append(sorted(names))
    return sorted(result)
"""

_GROUP_REF = '''import hashlib


def group_duplicates(files):
    """Group file names by a SHA-256 digest of their content; only groups of two or more."""
    groups = {}
    for name, content in files.items():
        key = hashlib.sha256(content.encode("utf-8")).hexdigest()
        groups.setdefault(key, []).append(name)
    return sorted(sorted(names) for names in groups.values() if len(names) > 1)
'''


def _group_workload() -> Workload:
    rng = Lcg(11)
    contents = [rng.word(200, 400) for _ in range(300)]
    files = {f"f{i}.txt": contents[rng.below(len(contents))] for i in range(1500)}
    return Workload(calls=((files,), (files,)))


_SETTINGS_SEED = """def parse_settings(text):
    settings = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, value = line.split("=", 1)
        settings[key.strip()] = eval(value.strip())
    return settings
"""

_SETTINGS_REF = '''import ast


def parse_settings(text):
    """Parse ``key = literal`` lines; literals are read with ast.literal_eval, never executed."""
    settings = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, value = line.split("=", 1)
        settings[key.strip()] = ast.literal_eval(value.strip())
    return settings
'''


def _settings_workload() -> Workload:
    rng = Lcg(12)
    lines = []
    for i in range(400):
        kind = rng.below(4)
        value = [str(rng.below(1000)), repr(rng.word(3, 9)), str([rng.below(9) for _ in range(4)]), "True"][kind]
        lines.append(f"key_{i} = {value}")
        if i % 25 == 0:
            lines.append("# section")
    return Workload(calls=(("\n".join(lines),),) * 3)


_USERS_SEED = """import sqlite3


def find_users(rows, city, min_age):
    conn = sqlite3.connect(":memory:")
    cur = conn.cursor()
    cur.execute("CREATE TABLE users (name TEXT, age INTEGER, city TEXT)")
    for name, age, home in rows:
        cur.execute(f"INSERT INTO users VALUES ('{name}', {age}, '{home}')")
    cur.execute(f"SELECT name FROM users WHERE city = '{city}' AND age >= {min_age} ORDER BY name")
    names = [row[0] for row in cur.fetchall()]
    conn.close()
    return names
"""

_USERS_REF = '''import sqlite3


def find_users(rows, city, min_age):
    """Names of users in ``city`` aged at least ``min_age``, sorted; all values are bound parameters."""
    conn = sqlite3.connect(":memory:")
    try:
        cur = conn.cursor()
        cur.execute("CREATE TABLE users (name TEXT, age INTEGER, city TEXT)")
        cur.executemany("INSERT INTO users VALUES (?, ?, ?)", [tuple(r) for r in rows])
        cur.execute("SELECT name FROM users WHERE city = ? AND age >= ? ORDER BY name", (city, min_age))
        return [row[0] for row in cur.fetchall()]
    finally:
        conn.close()
'''

_ROWS = [
    ["ann", 34, "Oslo"],
    ["bob", 19, "Oslo"],
    ["cy", 52, "Rome"],
    ["dee", 41, "Oslo"],
    ["eve", 28, "Rome"],
]


def _users_workload() -> Workload:
    rng = Lcg(13)
    cities = ["Oslo", "Rome", "Lima", "Pune", "Kyiv"]
    rows = [[rng.word(4, 8), 18 + rng.below(60), rng.pick(cities)] for _ in range(600)]
    return Workload(calls=tuple((rows, c, 30) for c in cities))


_TOKENS_SEED = """import random
import string


def issue_tokens(n, length, alphabet=string.ascii_letters + string.digits):
    tokens = set()
    while len(tokens) < n:
        tokens.add("".join(random.choice(alphabet) for _ in range(length)))
    return sorted(tokens)
"""

_TOKENS_REF = '''import secrets
import string


def issue_tokens(n, length, alphabet=string.ascii_letters + string.digits):
    """``n`` distinct tokens drawn with the secrets module, which is meant for credentials."""
    tokens = set()
    while len(tokens) < n:
        tokens.add("".join(secrets.choice(alphabet) for _ in range(length)))
    return sorted(tokens)
'''

_TOKENS_TESTS = (
    IOCase(args=(0, 8), expected=[], name="none"),
    IOCase(args=(2, 1, "ab"), expected=["a", "b"], name="exhaust-alphabet"),
    IOCase(args=(1, 3, "z"), expected=["zzz"], name="one-letter"),
    AssertCase(code="t = candidate(50, 12)\nassert len(t) == 50 and len(set(t)) == 50", name="distinct"),
    AssertCase(code="assert all(len(x) == 20 for x in candidate(10, 20))", name="length"),
    AssertCase(
        code="import string\nok = set(string.ascii_letters + string.digits)\n"
        "assert all(set(x) <= ok for x in candidate(30, 16))",
        name="charset",
    ),
    AssertCase(code="assert all(set(x) <= set('01') for x in candidate(5, 8, '01'))", name="custom-alphabet"),
)

_INVOICE_SEED = """def render_invoice(items):
    text = ""
    total = 0
    for name, qty, cents in items:
        assert qty > 0, "quantity must be positive"
        assert cents >= 0, "price must not be negative"
        line_total = qty * cents
        total += line_total
        price = f"{cents // 100}.{cents % 100:02d}"
        text += f"{name:<10}{qty:>4} x {price} = {line_total // 100}.{line_total % 100:02d}\\n"
    text += f"TOTAL {total // 100}.{total % 100:02d}"
    return text
"""

_INVOICE_REF = '''def _money(cents):
    return f"{cents // 100}.{cents % 100:02d}"


def render_invoice(items):
    """One line per item and a total; bad quantities or prices raise ValueError (asserts vanish under -O)."""
    lines = []
    total = 0
    for name, qty, cents in items:
        if qty <= 0:
            raise ValueError("quantity must be positive")
        if cents < 0:
            raise ValueError("price must not be negative")
        line_total = qty * cents
        total += line_total
        lines.append(f"{name:<10}{qty:>4} x {_money(cents)} = {_money(line_total)}")
    lines.append(f"TOTAL {_money(total)}")
    return "\\n".join(lines)
'''


def _invoice_workload() -> Workload:
    rng = Lcg(14)
    items = [[rng.word(3, 9), 1 + rng.below(20), rng.below(100000)] for _ in range(3000)]
    return Workload(calls=((items,), (items,)))


_SPILL_SEED = """import heapq
import os
import tempfile


def spill_sort(numbers, chunk):
    paths = []
    for start in range(0, len(numbers), chunk):
        path = tempfile.mktemp(suffix=".run", dir=".")
        with open(path, "w") as fh:
            fh.write("\\n".join(str(x) for x in sorted(numbers[start:start + chunk])))
        paths.append(path)
    runs = []
    for path in paths:
        with open(path) as fh:
            runs.append([int(x) for x in fh.read().split()])
        os.remove(path)
    return list(heapq.merge(*runs))
"""

_SPILL_REF = '''import heapq
import os
import tempfile


def spill_sort(numbers, chunk):
    """Sort via sorted runs spilled to files in the cwd; mkstemp creates each file atomically and
    privately."""
    runs = []
    for start in range(0, len(numbers), chunk):
        fd, path = tempfile.mkstemp(suffix=".run", dir=".")
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write("\\n".join(str(x) for x in sorted(numbers[start:start + chunk])))
            with open(path) as fh:
                runs.append([int(x) for x in fh.read().split()])
        finally:
            os.remove(path)
    return list(heapq.merge(*runs))
'''


def _spill_workload() -> Workload:
    rng = Lcg(15)
    numbers = [rng.below(1_000_000) - 500_000 for _ in range(20000)]
    return Workload(calls=((numbers, 4000),))


def security_tasks() -> tuple[Task, ...]:
    """Build the tasks (workloads are generated here, on first use, not at import)."""
    return (
        Task(
            id="group_duplicates",
            spec="Write group_duplicates(files) where files maps file names to their text content. Return "
            "the groups of names whose content is identical, only groups with at least two names, "
            "each group sorted and the list of groups sorted.",
            entry_point="group_duplicates",
            seed_code=_GROUP_SEED,
            reference=_GROUP_REF,
            tests=(
                IOCase(args=({},), expected=[], name="empty"),
                IOCase(args=({"a": "x", "b": "y"},), expected=[], name="no-dupes"),
                IOCase(args=({"a": "x", "b": "x"},), expected=[["a", "b"]], name="pair"),
                IOCase(
                    args=({"c": "1", "a": "1", "b": "2", "d": "2", "e": "3"},),
                    expected=[["a", "c"], ["b", "d"]],
                ),
                IOCase(args=({"z": "", "y": "", "x": ""},), expected=[["x", "y", "z"]], name="empty-content"),
                IOCase(args=({"a": "A", "b": "a"},), expected=[], name="case-sensitive"),
            ),
            workload=_group_workload(),
            cwe=("CWE-327",),
            tags=("insecure-seed",),
        ),
        Task(
            id="parse_settings",
            spec="Write parse_settings(text) that parses lines of the form 'key = value' into a dict. "
            "Values are Python literals (numbers, strings, lists, dicts, True/False/None). Blank "
            "lines and lines starting with '#' are ignored; keys and values are stripped of "
            "surrounding whitespace.",
            entry_point="parse_settings",
            seed_code=_SETTINGS_SEED,
            reference=_SETTINGS_REF,
            tests=(
                IOCase(args=("",), expected={}, name="empty"),
                IOCase(args=("a = 1\nb = 'x'",), expected={"a": 1, "b": "x"}, name="basic"),
                IOCase(args=("# c\n\nn = [1, 2]\n",), expected={"n": [1, 2]}, name="comments"),
                IOCase(args=("d = {'k': None}",), expected={"d": {"k": None}}, name="dict"),
                IOCase(args=("  f  =  2.5  \nt = True",), expected={"f": 2.5, "t": True}, name="spaces"),
                IOCase(args=("eq = 'a=b'",), expected={"eq": "a=b"}, name="equals-in-value"),
            ),
            workload=_settings_workload(),
            cwe=("CWE-95",),
            tags=("insecure-seed",),
        ),
        Task(
            id="find_users",
            spec="Write find_users(rows, city, min_age): load rows of [name, age, city] into an in-memory "
            "sqlite3 table and return the names of users living in `city` whose age is at least "
            "`min_age`, sorted by name. Names and cities may contain any characters, including "
            "quotes.",
            entry_point="find_users",
            seed_code=_USERS_SEED,
            reference=_USERS_REF,
            tests=(
                IOCase(args=([], "Oslo", 0), expected=[], name="empty"),
                IOCase(args=(_ROWS, "Oslo", 30), expected=["ann", "dee"], name="filter"),
                IOCase(args=(_ROWS, "Rome", 0), expected=["cy", "eve"], name="all-ages"),
                IOCase(args=(_ROWS, "Lima", 0), expected=[], name="no-city"),
                IOCase(args=(_ROWS, "Oslo", 19), expected=["ann", "bob", "dee"], name="inclusive"),
                IOCase(args=([["o'neil", 40, "Cork"]], "Cork", 18), expected=["o'neil"], name="quote-in-name"),
            ),
            workload=_users_workload(),
            cwe=("CWE-89",),
            tags=("insecure-seed",),
        ),
        Task(
            id="issue_tokens",
            spec="Write issue_tokens(n, length, alphabet=string.ascii_letters + string.digits) returning a"
            " sorted list of n distinct random tokens, each `length` characters drawn from "
            "`alphabet`. The tokens are used as session credentials.",
            entry_point="issue_tokens",
            seed_code=_TOKENS_SEED,
            reference=_TOKENS_REF,
            tests=_TOKENS_TESTS,
            workload=Workload(calls=((600, 16), (200, 32))),
            cwe=("CWE-330",),
            tags=("insecure-seed",),
        ),
        Task(
            id="render_invoice",
            spec="Write render_invoice(items) for items [name, qty, price_cents]. Return the invoice text:"
            " per item a line f'{name:<10}{qty:>4} x {price} = {line_total}' with amounts as "
            "euros.cents (e.g. 12.05), then a last line 'TOTAL {total}'; lines joined by newlines. A "
            "quantity <= 0 or a negative price is invalid input and must be rejected.",
            entry_point="render_invoice",
            seed_code=_INVOICE_SEED,
            reference=_INVOICE_REF,
            tests=(
                IOCase(args=([],), expected="TOTAL 0.00", name="empty"),
                IOCase(args=([["pen", 2, 150]],), expected="pen          2 x 1.50 = 3.00\nTOTAL 3.00", name="one"),
                IOCase(
                    args=([["a", 1, 5], ["b", 3, 1000]],),
                    expected="a            1 x 0.05 = 0.05\nb            3 x 10.00 = 30.00\nTOTAL 30.05",
                    name="two",
                ),
                IOCase(args=([["free", 4, 0]],), expected="free         4 x 0.00 = 0.00\nTOTAL 0.00", name="zero"),
                IOCase(
                    args=([["longname_item", 10, 99]],),
                    expected="longname_item  10 x 0.99 = 9.90\nTOTAL 9.90",
                    name="long-name",
                ),
            ),
            workload=_invoice_workload(),
            cwe=("CWE-617",),
            tags=("insecure-seed",),
        ),
        Task(
            id="spill_sort",
            spec="Write spill_sort(numbers, chunk): sort a list of integers by writing sorted runs of at "
            "most `chunk` numbers to temporary files in the current directory, then merging the runs."
            " Remove the files afterwards and return the sorted list.",
            entry_point="spill_sort",
            seed_code=_SPILL_SEED,
            reference=_SPILL_REF,
            tests=(
                IOCase(args=([], 3), expected=[], name="empty"),
                IOCase(args=([3, 1, 2], 10), expected=[1, 2, 3], name="one-run"),
                IOCase(args=([5, -1, 4, 0, 9, 2, 2], 2), expected=[-1, 0, 2, 2, 4, 5, 9], name="many-runs"),
                IOCase(args=([7], 1), expected=[7], name="single"),
                IOCase(args=([9, 8, 7, 6, 5, 4, 3, 2, 1, 0], 3), expected=list(range(10)), name="reversed"),
            ),
            workload=_spill_workload(),
            cwe=("CWE-377",),
            tags=("insecure-seed",),
        ),
    )
