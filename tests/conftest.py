import os

import pytest

from nnfs_cli.catalog import load_catalog

os.environ.setdefault("NO_COLOR", "1")


@pytest.fixture(scope="session")
def catalog():
    return load_catalog()
