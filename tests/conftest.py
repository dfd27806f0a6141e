"""Shared test plugins: the daemon harness serves tests/e2e/daemon, tests/crash and tests/fuzz."""

# Import hypothesis while the stack is shallow: pytest rewrites the modules of plugins that
# come from entry points, and CPython 3.11.7's parser can fail ("AST constructor recursion
# depth mismatch") when hypothesis imports one lazily deep inside pytest_sessionfinish.
import hypothesis.internal.conjecture.providers  # noqa: F401

pytest_plugins = ["tests.daemon_harness"]
