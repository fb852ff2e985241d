"""Where mloop keeps its store when neither --db nor MLOOP_DB names one.

Light on purpose (no SQLAlchemy): ``mloop --help`` shows this path.
"""

from __future__ import annotations

from pathlib import Path


def default_db_path() -> Path:
    """mloop.db in the user data folder (platformdirs: ~/.local/share/mloop on Linux)."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("mloop", appauthor=False)) / "mloop.db"
