"""Fixtures and parametrization of the security suite (the helpers live in securitykit.py)."""
import pytest

from securitykit import ROUTE_KEYS, UNSAFE_METHODS, World


def pytest_generate_tests(metafunc):
    """``route_case``: (endpoint, method, case number) for every route and method of the url_map
    and every case the module's ``ROUTES`` table gives it; a route missing from the table, or a row
    whose route is gone, is one case numbered None that fails. ``unsafe_route``: every state change."""
    if "route_case" in metafunc.fixturenames:
        table = getattr(metafunc.module, "ROUTES", {})
        params, ids = [], []
        for endpoint, method in sorted(ROUTE_KEYS | set(table)):
            cases = table.get((endpoint, method)) if (endpoint, method) in ROUTE_KEYS else None
            for number, case in enumerate(cases or [None]):
                params.append((endpoint, method, number if case else None))
                label = getattr(case, "label", "") or (str(number) if cases and len(cases) > 1 else "")
                ids.append(" ".join(filter(None, [endpoint, method, label])))
        metafunc.parametrize("route_case", params, ids=ids)
    if "unsafe_route" in metafunc.fixturenames:
        keys = sorted(k for k in ROUTE_KEYS if k[1] in UNSAFE_METHODS)
        metafunc.parametrize("unsafe_route", keys, ids=[f"{e} {m}" for e, m in keys])


@pytest.fixture
def world(app, make_member, mailbox, embedded):
    # ``embedded``: the invitation emails the world reads its tokens from go out through the in-process worker.
    return World(app, make_member, mailbox)
