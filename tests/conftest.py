"""Fixtures shared by the tests that use the bundled model."""

import pytest

import chorale
from chorale.io.files import bundled


@pytest.fixture(scope="session")
def model():
    """The bundled model, loaded once (generating needs no TensorFlow)."""
    return chorale.load_model()


@pytest.fixture(scope="session")
def piece():
    """A held-out Bach chorale of 196 steps (a test module may define its own `piece`)."""
    return chorale.load(bundled("chorales") / "test" / "chorale_004.csv")
