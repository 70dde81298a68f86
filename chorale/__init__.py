"""chorale: learn from Bach's four-part chorales and write new ones as MIDI."""

__version__ = "0.1.0"


class ChoraleError(Exception):
    """A problem the user can fix (bad file, bad option value); the CLI prints it on one line."""
