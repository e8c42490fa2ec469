"""Renderers: take a :class:`~tokendoctor.models.Report`, return text.  No logic beyond layout."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

Format = Literal["text", "json"]


def get_renderer(fmt: Format) -> Callable[..., str]:
    if fmt == "json":
        from tokendoctor.render.json import render
    else:
        from tokendoctor.render.text import render
    return render
