"""Renderers: take a :class:`~tokendoctor.models.Report`, return text.  No logic beyond layout."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, get_args

Format = Literal["text", "json", "github", "junit"]
FORMATS: tuple[str, ...] = get_args(Format)


def get_renderer(fmt: Format) -> Callable[..., str]:
    if fmt == "json":
        from tokendoctor.render.json import render
    elif fmt == "github":
        from tokendoctor.render.github import render
    elif fmt == "junit":
        from tokendoctor.render.junit import render
    else:
        from tokendoctor.render.text import render
    return render
