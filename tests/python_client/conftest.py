from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType

import pytest

from latchwork.client import qb as qb_module

from ..serverproc import ServerProcess


@pytest.fixture
def qb(server: ServerProcess) -> Iterator[ModuleType]:
    """The qb module, connected to this test's supervisor."""
    qb_module.connect(server.address, user="tester")
    yield qb_module
    qb_module.connect(None)  # drop the connection to the stopped server
