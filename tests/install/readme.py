#!/usr/bin/env python3
"""Prints a fenced code block of README.md, so tests run the quick starts as
they are written there (and fail when an edit breaks one).

    readme.py SECTION LANG [N]

SECTION is a heading's text (`## C`, `### Gateway decisions` -> "C",
"Gateway decisions"); LANG the fence's language; N which such block of the
section, from 0. Fails, naming what it looked for, when there is none.
"""

import pathlib
import re
import sys

README = pathlib.Path(__file__).resolve().parents[2] / "README.md"


def blocks(section: str, lang: str) -> list[str]:
    found, current, inside, lines = [], None, None, []
    for line in README.read_text(encoding="utf-8").splitlines():
        if inside is not None:
            if line.startswith("```"):
                if current == section and inside == lang:
                    found.append("\n".join(lines) + "\n")
                inside, lines = None, []
            else:
                lines.append(line)
            continue
        heading = re.match(r"^#{2,4} (.*)$", line)
        if heading:
            current = heading.group(1).strip()
        elif line.startswith("```"):
            inside = line[3:].strip()
    return found


def main() -> None:
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    section, lang = sys.argv[1], sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) == 4 else 0
    found = blocks(section, lang)
    if n >= len(found):
        sys.exit(f"README.md: no ```{lang} block number {n} under the heading {section!r} ({len(found)} found)")
    sys.stdout.write(found[n])


if __name__ == "__main__":
    main()
