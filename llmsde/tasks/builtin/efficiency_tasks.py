"""Built-in tasks whose seed code hides an efficiency trap that a better implementation removes.

The traps are the classic ones: list membership in a loop, ``list.count`` per element, ``list.pop(0)`` as a
queue, exponential recursion without memoisation, repeated rescanning. Each workload is sized so the reference
needs a few milliseconds and the seed is clearly, but not absurdly, slower.
"""

from __future__ import annotations

from llmsde.tasks.builtin._data import Lcg
from llmsde.tasks.model import IOCase, Task, Workload

__all__ = ["efficiency_tasks"]

_DEDUPE_SEED = """def dedupe_emails(emails):
    seen = []
    result = []
    for raw in emails:
        email = raw.strip().lower()
        if not email:
            continue
        if email not in seen:
            seen.append(email)
            result.append(email)
    return result
"""

_DEDUPE_REF = '''def dedupe_emails(emails):
    """Normalised unique emails in first-seen order; a set makes each membership test O(1)."""
    seen = set()
    result = []
    for raw in emails:
        email = raw.strip().lower()
        if email and email not in seen:
            seen.add(email)
            result.append(email)
    return result
'''


def _dedupe_workload() -> Workload:
    rng = Lcg(21)
    pool = [f"{rng.word(3, 8)}@{rng.pick(['a.org', 'b.com', 'c.net'])}" for _ in range(1200)]
    emails = [(" " if rng.below(5) == 0 else "") + rng.pick(pool).upper() for _ in range(2500)]
    small = tuple(([rng.pick(pool) for _ in range(25)],) for _ in range(300))
    return Workload(calls=((emails,), (emails[::-1],), *small))


_FREQ_SEED = """import re


def word_frequencies(text, k):
    words = re.findall(r"[a-z]+", text.lower())
    counts = {w: words.count(w) for w in words}
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [[w, c] for w, c in ranked[:k]]
"""

_FREQ_REF = '''import collections
import re


def word_frequencies(text, k):
    """The k most frequent lowercase words as [word, count], ties broken alphabetically; one counting pass."""
    counts = collections.Counter(re.findall(r"[a-z]+", text.lower()))
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [[w, c] for w, c in ranked[:k]]
'''


def _freq_workload() -> Workload:
    rng = Lcg(22)
    vocab = [rng.word(2, 9) for _ in range(400)]
    text = " ".join(rng.pick(vocab) + rng.pick([" ", ", ", ". ", "\n"]) for _ in range(1500))
    small = tuple((" ".join(rng.pick(vocab) for _ in range(30)), 3) for _ in range(250))
    return Workload(calls=((text, 10), (text.upper(), 25), *small))


_GRID_SEED = """def grid_distance(grid):
    if not grid or grid[0][0] == "#" or grid[-1][-1] == "#":
        return -1
    rows, cols = len(grid), len(grid[0])
    queue = [(0, 0, 0)]
    visited = [(0, 0)]
    while queue:
        r, c, d = queue.pop(0)
        if (r, c) == (rows - 1, cols - 1):
            return d
        for dr, dc in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            nr, nc = r + dr, c + dc
            if 0 <= nr < rows and 0 <= nc < cols and grid[nr][nc] == "." and (nr, nc) not in visited:
                visited.append((nr, nc))
                queue.append((nr, nc, d + 1))
    return -1
"""

_GRID_REF = '''import collections


def grid_distance(grid):
    """Breadth-first search with a deque (O(1) pops) and a visited set (O(1) membership)."""
    if not grid or grid[0][0] == "#" or grid[-1][-1] == "#":
        return -1
    rows, cols = len(grid), len(grid[0])
    queue = collections.deque([(0, 0, 0)])
    visited = {(0, 0)}
    while queue:
        r, c, d = queue.popleft()
        if (r, c) == (rows - 1, cols - 1):
            return d
        for dr, dc in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            nr, nc = r + dr, c + dc
            if 0 <= nr < rows and 0 <= nc < cols and grid[nr][nc] == "." and (nr, nc) not in visited:
                visited.add((nr, nc))
                queue.append((nr, nc, d + 1))
    return -1
'''


def _grid(size: int, seed: int) -> list[str]:
    rng = Lcg(seed)
    cells = [["#" if rng.below(100) < 18 else "." for _ in range(size)] for _ in range(size)]
    cells[0][0] = cells[-1][-1] = "."
    for i in range(size):
        cells[i][i] = "."
        if i + 1 < size:
            cells[i][i + 1] = "."
    return ["".join(row) for row in cells]


_FRAME = ["....#", ".##.#", "....#", "#.#..", "...#."]

_DECODE_SEED = """def count_decodings(digits):
    def ways(i):
        if i == len(digits):
            return 1
        if digits[i] == "0":
            return 0
        total = ways(i + 1)
        if i + 1 < len(digits) and int(digits[i:i + 2]) <= 26:
            total += ways(i + 2)
        return total

    return ways(0)
"""

_DECODE_REF = '''def count_decodings(digits):
    """Ways to read the digits as letters 1..26, by dynamic programming from the right in O(n)."""
    after, after2 = 1, 0
    for i in range(len(digits) - 1, -1, -1):
        here = 0
        if digits[i] != "0":
            here = after
            if i + 1 < len(digits) and int(digits[i:i + 2]) <= 26:
                here += after2
        after, after2 = here, after
    return after
'''


def _decode_workload() -> Workload:
    rng = Lcg(24)
    long = tuple(("".join(rng.pick("1112223456") for _ in range(22)),) for _ in range(8))
    short = tuple(("".join(rng.pick("1112223456") for _ in range(12)),) for _ in range(900))
    return Workload(calls=long + short)


_MERGE_SEED = """def merge_intervals(intervals):
    merged = [list(iv) for iv in intervals]
    changed = True
    while changed:
        changed = False
        for i in range(len(merged)):
            for j in range(i + 1, len(merged)):
                a, b = merged[i], merged[j]
                if a[0] <= b[1] and b[0] <= a[1]:
                    merged[i] = [min(a[0], b[0]), max(a[1], b[1])]
                    del merged[j]
                    changed = True
                    break
            if changed:
                break
    return sorted(merged)
"""

_MERGE_REF = '''def merge_intervals(intervals):
    """Sort by start, then sweep once, extending the last merged interval while the next one overlaps."""
    merged = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return merged
'''


def _merge_workload() -> Workload:
    rng = Lcg(25)
    intervals = []
    for _ in range(260):
        start = rng.below(20000)
        intervals.append([start, start + 1 + rng.below(40)])
    small = []
    for _ in range(900):
        base = rng.below(100)
        small.append(([[base + rng.below(30), base + 30 + rng.below(8)] for _ in range(8)],))
    return Workload(calls=((intervals,), *small))


_COMMON_SEED = """def common_tags(first, second):
    result = []
    for tag in first:
        if tag in second and tag not in result:
            result.append(tag)
    return result
"""

_COMMON_REF = '''def common_tags(first, second):
    """Tags of `first` also in `second`, first-seen order, no repeats; sets make the lookups O(1)."""
    wanted = set(second)
    seen = set()
    result = []
    for tag in first:
        if tag in wanted and tag not in seen:
            seen.add(tag)
            result.append(tag)
    return result
'''


def _common_workload() -> Workload:
    rng = Lcg(26)
    first = [rng.word(2, 4, "abcdefgh") for _ in range(1500)]
    second = [rng.word(2, 4, "abcdefgh") for _ in range(1500)]
    small = tuple(
        ([rng.word(1, 2, "abcd") for _ in range(12)], [rng.word(1, 2, "abcd") for _ in range(12)]) for _ in range(1200)
    )
    return Workload(calls=((first, second), (second, first), *small))


def efficiency_tasks() -> tuple[Task, ...]:
    """Build the tasks (workloads are generated here, on first use, not at import)."""
    return (
        Task(
            id="dedupe_emails",
            spec="Write dedupe_emails(emails) that normalises each email (strip whitespace, lowercase), "
            "drops empty ones, and returns the unique emails in order of first appearance.",
            entry_point="dedupe_emails",
            seed_code=_DEDUPE_SEED,
            reference=_DEDUPE_REF,
            tests=(
                IOCase(args=([],), expected=[], name="empty"),
                IOCase(args=(["a@x.org", "b@x.org"],), expected=["a@x.org", "b@x.org"], name="distinct"),
                IOCase(args=(["A@x.org", " a@x.org ", "a@X.ORG"],), expected=["a@x.org"], name="normalise"),
                IOCase(args=(["", "  ", "c@y"],), expected=["c@y"], name="blanks"),
                IOCase(args=(["b@y", "a@y", "b@y", "c@y", "a@y"],), expected=["b@y", "a@y", "c@y"], name="order"),
            ),
            workload=_dedupe_workload(),
            tags=("efficiency-trap",),
        ),
        Task(
            id="word_frequencies",
            spec="Write word_frequencies(text, k) returning the k most frequent words as [word, count] "
            "pairs, sorted by count descending then word ascending. Words are maximal runs of letters"
            " a-z after lowercasing the text.",
            entry_point="word_frequencies",
            seed_code=_FREQ_SEED,
            reference=_FREQ_REF,
            tests=(
                IOCase(args=("", 3), expected=[], name="empty"),
                IOCase(args=("a b a", 5), expected=[["a", 2], ["b", 1]], name="basic"),
                IOCase(args=("The cat. the DOG, the cat!", 2), expected=[["the", 3], ["cat", 2]], name="case"),
                IOCase(args=("b a c", 2), expected=[["a", 1], ["b", 1]], name="ties"),
                IOCase(args=("x1y2x", 1), expected=[["x", 2]], name="digits-split"),
                IOCase(args=("one two", 0), expected=[], name="k-zero"),
            ),
            workload=_freq_workload(),
            tags=("efficiency-trap",),
        ),
        Task(
            id="grid_distance",
            spec="Write grid_distance(grid) for a grid given as equal-length strings of '.' (open) and '#'"
            " (wall). Return the fewest 4-directional steps from the top-left to the bottom-right "
            "cell, or -1 if there is no path (or either end is a wall).",
            entry_point="grid_distance",
            seed_code=_GRID_SEED,
            reference=_GRID_REF,
            tests=(
                IOCase(args=(["."],), expected=0, name="single"),
                IOCase(args=([".."],), expected=1, name="row"),
                IOCase(args=([".#", "#."],), expected=-1, name="blocked"),
                IOCase(args=(_FRAME,), expected=8, name="winding"),
                IOCase(args=(["...", ".#.", "..."],), expected=4, name="around"),
                IOCase(args=(["#."],), expected=-1, name="wall-start"),
                IOCase(args=(["....", "##.#", "....", ".##."],), expected=6, name="maze"),
            ),
            workload=Workload(calls=tuple((_grid(28, s),) for s in (31, 32, 33, 34, 35))),
            tags=("efficiency-trap",),
        ),
        Task(
            id="count_decodings",
            spec="Write count_decodings(digits): the letters A..Z are encoded as 1..26; return the number "
            "of ways the digit string can be decoded. '0' cannot start a code; the empty string has "
            "one decoding.",
            entry_point="count_decodings",
            seed_code=_DECODE_SEED,
            reference=_DECODE_REF,
            tests=(
                IOCase(args=("",), expected=1, name="empty"),
                IOCase(args=("12",), expected=2, name="twelve"),
                IOCase(args=("226",), expected=3, name="226"),
                IOCase(args=("06",), expected=0, name="leading-zero"),
                IOCase(args=("10",), expected=1, name="ten"),
                IOCase(args=("1111111111",), expected=89, name="fib"),
                IOCase(args=("27",), expected=1, name="over-26"),
            ),
            workload=_decode_workload(),
            tags=("efficiency-trap",),
        ),
        Task(
            id="merge_intervals",
            spec="Write merge_intervals(intervals) for closed intervals [start, end] (start <= end). Merge"
            " every pair that overlaps or touches and return the merged intervals sorted by start.",
            entry_point="merge_intervals",
            seed_code=_MERGE_SEED,
            reference=_MERGE_REF,
            tests=(
                IOCase(args=([],), expected=[], name="empty"),
                IOCase(args=([[1, 3], [2, 6], [8, 10]],), expected=[[1, 6], [8, 10]], name="basic"),
                IOCase(args=([[1, 2], [2, 3]],), expected=[[1, 3]], name="touching"),
                IOCase(args=([[5, 6], [1, 2]],), expected=[[1, 2], [5, 6]], name="unsorted"),
                IOCase(args=([[1, 10], [2, 3], [4, 5]],), expected=[[1, 10]], name="nested"),
                IOCase(args=([[3, 3]],), expected=[[3, 3]], name="point"),
            ),
            workload=_merge_workload(),
            tags=("efficiency-trap",),
        ),
        Task(
            id="common_tags",
            spec="Write common_tags(first, second) returning the tags of `first` that also occur in "
            "`second`, in the order of their first appearance in `first`, without repeats.",
            entry_point="common_tags",
            seed_code=_COMMON_SEED,
            reference=_COMMON_REF,
            tests=(
                IOCase(args=([], ["a"]), expected=[], name="empty"),
                IOCase(args=(["a", "b"], []), expected=[], name="empty-second"),
                IOCase(args=(["a", "b", "c"], ["c", "a"]), expected=["a", "c"], name="order"),
                IOCase(args=(["x", "x", "y", "x"], ["x", "y"]), expected=["x", "y"], name="repeats"),
                IOCase(args=(["A", "a"], ["a"]), expected=["a"], name="case"),
            ),
            workload=_common_workload(),
            tags=("efficiency-trap",),
        ),
    )
