"""A plain `pip install .` must carry the bundled dataset inside the package."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_carries_the_bundled_dataset(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True, capture_output=True,
    )
    (wheel,) = tmp_path.glob("chorale-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    committed = {f"chorale/_bundled/{p.relative_to(ROOT / 'data').as_posix()}"
                 for p in (ROOT / "data").rglob("*") if p.is_file()}
    assert any(n.startswith("chorale/_bundled/chorales/train/chorale_") for n in names)
    assert committed <= names
    assert "chorale/cli/__init__.py" in names
    assert {f"chorale/studio/static/{n}" for n in ("index.html", "studio.js", "studio.css")} <= names  # the studio's page
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "chorale = chorale.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
