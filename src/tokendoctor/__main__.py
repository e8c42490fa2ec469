"""``python -m tokendoctor``."""

from tokendoctor.cli import entry

if __name__ == "__main__":  # pragma: no cover
    entry()
