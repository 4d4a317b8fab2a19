"""Deterministic workload data for the built-in tasks.

Workloads must be identical on every machine and Python version, so they come from a tiny linear congruential
generator instead of :mod:`random` (whose algorithms for ``choice``/``shuffle`` may change between versions).
"""

from __future__ import annotations

__all__ = ["Lcg"]


class Lcg:
    """A 31-bit linear congruential generator: enough to make varied but reproducible inputs."""

    def __init__(self, seed: int) -> None:
        self._state = seed & 0x7FFFFFFF

    def next(self) -> int:
        """The next raw value in [0, 2**31)."""
        self._state = (1103515245 * self._state + 12345) & 0x7FFFFFFF
        return self._state

    def below(self, n: int) -> int:
        """A value in [0, n); uses the high bits, which are better mixed than the low ones in an LCG."""
        return (self.next() >> 8) % n

    def pick(self, items: str | list[str]) -> str:
        """One element of ``items``."""
        return items[self.below(len(items))]

    def word(self, lo: int, hi: int, alphabet: str = "abcdefghijklmnopqrstuvwxyz") -> str:
        """A word of length in [lo, hi] from ``alphabet``."""
        return "".join(self.pick(alphabet) for _ in range(lo + self.below(hi - lo + 1)))
