"""The sandbox tests run in three modes: as root, as an unprivileged user with user namespaces, and as one
without them (``test_unprivileged.py`` re-runs the attack suites in the last two, as a leased uid).

``LLMSDE_TEST_DENY_USERNS=1`` makes this test process load a seccomp filter refusing unshare/setns, which the
fork servers inherit: the host then looks exactly like one that forbids unprivileged user namespaces, and the
attacks run against the real fallback.
"""

from __future__ import annotations

import os

import pytest

from llmsde.sandbox import _isolation

DENY_USERNS = os.environ.get("LLMSDE_TEST_DENY_USERNS") == "1"
if DENY_USERNS:
    _isolation.deny_namespaces()


def _userns_allowed() -> bool:
    """Whether this kernel lets us make a user + network namespace (tried in a throwaway child)."""
    ids = os.geteuid(), os.getegid()
    pid = os.fork()
    if pid == 0:
        try:
            _isolation.unshare(_isolation.CLONE_NEWUSER | _isolation.CLONE_NEWNET)
            _isolation.map_user_namespace(*ids)
            os._exit(0)
        except BaseException:  # noqa: B036 - the child must reach os._exit
            os._exit(1)
    return os.waitpid(pid, 0)[1] == 0


MODE = "root" if os.geteuid() == 0 else "userns" if _userns_allowed() else "fallback"
"""``root``, ``userns`` (unprivileged, user namespaces allowed) or ``fallback`` (unprivileged, denied); decided
at import, before any pool makes this process non-dumpable (which would make the trial fail)."""


@pytest.fixture(scope="session")
def mode() -> str:
    return MODE
