"""Fixtures that run the real Confab binary for the Python tests.

* `confab`: one server for the whole session, on a fresh temporary data
  directory with one API client. Tests that share it use names of their own
  (data extension keys, conversation ids) so they stay independent.
* `fresh_confab`: a server of the test's own, for tests whose requests
  carry fixed names (the captured requests, the examples).
* `shared_reference`: the `reference` folder of `../shared` beside the
  repository, which holds the real WSDL and the captures of real clients.

The binary is `$CONFAB_BIN`, or `target/debug/confab` under the repository.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from confab_support import (
    ConfabServer,
    ServerPool,
    confab_binary,
    shared_reference_dir,
)


@pytest.fixture(scope="session")
def confab_bin() -> Path:
    binary = confab_binary()
    if not (binary.is_file() and os.access(binary, os.X_OK)):
        pytest.fail(
            f"the confab binary {binary} is missing: run `cargo build` first, "
            "or point CONFAB_BIN at it",
            pytrace=False,
        )
    return binary


@pytest.fixture(scope="session")
def shared_reference() -> Path:
    reference = shared_reference_dir()
    needed = ["etframework.wsdl", "ETFrameworkFault.xsd", "captures"]
    missing = [name for name in needed if not (reference / name).exists()]
    if missing:
        pytest.fail(
            f"the shared reference folder {reference} is missing or lacks "
            f"{', '.join(missing)}. The tests expect the repository clone to "
            "have `shared/` as a sibling directory, as CI lays it out.",
            pytrace=False,
        )
    return reference


@pytest.fixture(scope="session")
def server_pool(confab_bin: Path):
    pool = ServerPool(confab_bin)
    yield pool
    pool.close()


@pytest.fixture(scope="session")
def confab(server_pool: ServerPool) -> ConfabServer:
    return server_pool.start()


@pytest.fixture
def fresh_confab(server_pool: ServerPool, request: pytest.FixtureRequest):
    server = server_pool.start()
    yield server
    server.stop()
    # Shown only when the test fails.
    request.node.add_report_section("teardown", "confab log", server.log_text(80))
