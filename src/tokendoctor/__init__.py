"""tokendoctor: find out why AWS calls fail with ExpiredToken, and what to change."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tokendoctor.models import Report

__version__ = "0.1.0"


def diagnose(session: Any = None, **options: Any) -> Report:
    """The ``check`` report as data; with a boto3/botocore ``session``, its own credentials too (docs/python-api.md)."""
    from tokendoctor.api import diagnose as _diagnose

    return _diagnose(session, **options)


__all__ = ["__version__", "diagnose"]
