"""The bad-input catalogue (benchmarks/catalogue.py): every command, every way its input can
be wrong. Each case runs the real CLI in its own folder and must exit non-zero with exactly
one `Error: ...` line naming the problem, print no traceback, and leave every file as it was.
"""

from __future__ import annotations

import shutil

import pytest

from benchmarks.catalogue import CASES, build_shared, lambda_payload_model, run_case
from chorale import ChoraleError

@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    root = tmp_path_factory.mktemp("catalogue")
    yield root, build_shared(root)
    (root / "shared" / "readonly").chmod(0o755)


def test_the_catalogue_is_large_and_names_are_unique():
    assert len(CASES) >= 150 and len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_is_one_clean_error(shared, case):
    root, paths = shared
    outcome = run_case(case, root, paths)
    assert outcome.problems() == [], outcome.output


def test_a_real_payload_is_refused_and_never_runs(tmp_path):
    """The Lambda payload is real: Keras without safe mode runs it, creating PWNED. chorale
    refuses the file (and so would Keras's safe mode, behind our check), and PWNED never appears."""
    import keras

    from chorale.model.run import safe_load

    (tmp_path / "m").mkdir()
    evil = tmp_path / "m" / "model.keras"
    lambda_payload_model(evil)
    with pytest.raises(ChoraleError, match="needs code that chorale does not ship \\(a Python lambda\\)"):
        safe_load(evil)
    with pytest.raises(ValueError, match="lambda"):
        keras.saving.load_model(evil, safe_mode=True)
    assert not (tmp_path / "PWNED").exists()
    keras.saving.load_model(evil, safe_mode=False)
    assert (tmp_path / "PWNED").exists()


def test_a_damaged_sampler_cache_is_rebuilt_from_the_model(shared, tmp_path):
    from chorale.sampling.cache import load_sampler
    from chorale.sampling.stepper import SAMPLER_FILE, Sampler, file_hash

    _, paths = shared
    shutil.copytree(paths["model"], tmp_path / "m")
    cache = tmp_path / "m" / SAMPLER_FILE
    cache.write_bytes(cache.read_bytes()[:300])
    sampler, _, vocab = load_sampler(tmp_path / "m")
    assert sampler.output_width() == vocab.size
    assert Sampler.load(cache, file_hash(tmp_path / "m" / "model.keras")) is not None  # written whole again
