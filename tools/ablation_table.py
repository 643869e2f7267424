"""Collect the ablation runs' `rechroma-eval` reports into one table (docs/ablations.md, the model card).

    python tools/ablation_table.py work/ablations/*/eval/report.md

Each report holds, per set (val split, held-out) and group (people, other), the grey row and the model's row;
this prints one line per report and set: ΔE00 vs grey overall and for people and other, colourfulness ratio,
PSNR and the false-colour rate.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

_HEADER = re.compile(
    r"^### .*?(?:: (?P<set>val split|val-photos|holdout))?(?:: (?P<group>people|other))? \(\d+ photos\)"
)


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def read_report(path: Path) -> dict[tuple[str, str], dict[str, str]]:
    """(set, group or 'all') -> the model row's cells by column name (the last non-grey row of each table).

    A report of one set only (its folder named eval-holdout or eval-val) has no set in its titles."""
    folder = path.parent.name
    only = "holdout" if folder.endswith("-holdout") else "val split" if folder.endswith("-val") else "all"
    tables: dict[tuple[str, str], dict[str, str]] = {}
    key = None
    columns: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("###"):
            match = _HEADER.match(line)
            key = None
            if match:
                key = ((match["set"] or only).replace("val-photos", "val split"), match["group"] or "all")
            columns = []
        elif key and line.startswith("| model"):
            columns = _cells(line)
        elif key and columns and line.startswith("| ") and not line.startswith("|---"):
            cells = _cells(line)
            if cells[0] != "grey":
                tables[key] = dict(zip(columns, cells, strict=False))
    return tables


def main(argv: list[str]) -> int:
    print("| run | set | ΔE00 vs grey | people | other | CF ratio | PSNR dB | false colour % |")
    print("|---|---|---|---|---|---|---|---|")
    for arg in argv:
        path = Path(arg)
        tables = read_report(path)
        run = path.parent.parent.name if path.parent.name.startswith("eval") else path.parent.name
        for name in ("val split", "holdout"):
            if (name, "all") not in tables:
                continue
            row = tables[(name, "all")]
            people = tables.get((name, "people"), {}).get("vs grey", "–")
            other = tables.get((name, "other"), {}).get("vs grey", "–")
            print(f"| {run} | {name} | {row['ΔE00 ↓']} ({row['vs grey']}) | {people} | {other} | "
                  f"{row['CF ratio']} | {row['PSNR dB']} | {row['false colour % ↓']} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
