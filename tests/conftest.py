"""Shared test plugins: the daemon harness serves tests/e2e/daemon, tests/crash and tests/fuzz."""

# Import hypothesis while the stack is shallow: pytest rewrites the modules of plugins that
# come from entry points, and CPython 3.11.7's parser can fail ("AST constructor recursion
# depth mismatch") when hypothesis imports one lazily deep inside pytest_sessionfinish.
import hypothesis.internal.conjecture.providers  # noqa: F401
import pytest

pytest_plugins = ["tests.daemon_harness"]


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under ``make test`` (pytest-xdist, ``--dist loadgroup``) a test module runs whole on one
    worker: its module-scoped fixtures (a daemon, RabbitMQ, a wheel build, Chromium) start once.
    A test marked ``xdist_group`` joins that group instead; tests that share something
    machine-wide (the Erlang brokers) are put in one group so they never run at the same time.
    Runs before xdist's own hook, which reads the marks."""
    for item in items:
        if item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::", 1)[0]))
