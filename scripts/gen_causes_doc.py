"""Regenerate docs/causes.md from the catalogue (python scripts/gen_causes_doc.py)."""

from __future__ import annotations

from pathlib import Path

from tokendoctor.catalogue import CAUSES

FAMILIES = {
    "1": "Environment variables that shadow or break the chain",
    "2": "The resolved credentials and the shared files",
    "3": "Instance metadata, containers and web identity",
    "4": "The clock",
    "5": "The failing process and live verification",
    "9": "tokendoctor itself",
}


def main() -> None:
    out = [
        "# Causes",
        "",
        "Every cause tokendoctor reports, with its stable code and name. Codes and names are a contract:",
        "they appear in the JSON (`causes[].code`, `causes[].name`) and users' CI scripts match on them.",
        "They are never renumbered, renamed or reused. `tokendoctor causes` prints this list;",
        "`tokendoctor causes --json` prints it as JSON. This page is generated from",
        "`src/tokendoctor/catalogue.py` by `scripts/gen_causes_doc.py`.",
        "",
        "The severity is the default; a check may raise or lower it for what it saw (for example an",
        "expiry already past is an error, one hours away a warning). The fix shown in a report is",
        "written for what was found; the one here is the generic remedy.",
        "",
    ]
    family = None
    for cause in CAUSES.values():
        if cause.code[2] != family:
            family = cause.code[2]
            out += [f"## TD{family}xx: {FAMILIES[family]}", ""]
        out += [
            f"### {cause.code} `{cause.name}` ({cause.severity})",
            "",
            f"**{cause.title}.**",
            "",
            f"Why it leads to ExpiredToken: {cause.why}",
            "",
            "Fix:",
            "",
            "```",
            cause.fix,
            "```",
            "",
        ]
    Path(__file__).resolve().parents[1].joinpath("docs", "causes.md").write_text("\n".join(out), encoding="utf-8")


if __name__ == "__main__":
    main()
