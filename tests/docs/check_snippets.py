#!/usr/bin/env python3
"""Every ```cpp block in README.md and docs/*.md must be code from a compiled example.

A block names its source on its first line, `// examples/<file>.cpp`; without that marker
any file in examples/ may hold it. Its lines (whitespace-insensitive, blank lines and
`// ...` elisions skipped) must appear in that file in the same order. So a snippet cannot
drift from the programs that CI builds and runs.

usage: check_snippets.py <repository root>
"""
import pathlib
import re
import sys

FENCE = re.compile(r"^```(?:cpp|c\+\+)\s*$")
MARKER = re.compile(r"^//\s*(examples/[\w./-]+\.cpp)\s*$")


def norm(line):
    return "".join(line.split())


def blocks(path):
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        if FENCE.match(lines[i].strip()):
            start = i + 1
            j = start
            while j < len(lines) and lines[j].strip() != "```":
                j += 1
            yield start + 1, lines[start:j]
            i = j + 1
        else:
            i += 1


def contained(snippet, source_lines):
    """True when every snippet line occurs in source_lines, in order."""
    pos = 0
    for line in snippet:
        while pos < len(source_lines) and source_lines[pos] != line:
            pos += 1
        if pos == len(source_lines):
            return False, line
        pos += 1
    return True, None


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
    examples = {p.relative_to(root).as_posix(): [norm(l) for l in p.read_text(encoding="utf-8").splitlines()]
                for p in sorted((root / "examples").glob("*.cpp"))}
    pages = [root / "README.md"] + sorted((root / "docs").glob("*.md"))
    failures = 0
    checked = 0
    for page in pages:
        if not page.exists():
            continue
        for lineno, block in blocks(page):
            checked += 1
            where = f"{page.relative_to(root)}:{lineno}"
            marker = MARKER.match(block[0].strip()) if block else None
            body = [norm(l) for l in (block[1:] if marker else block)]
            body = [l for l in body if l and l not in ("//...", "...")]
            if marker:
                name = marker.group(1)
                if name not in examples:
                    print(f"{where}: names {name}, which is not a file in examples/")
                    failures += 1
                    continue
                ok, missing = contained(body, examples[name])
                if not ok:
                    print(f"{where}: not in {name} (in this order); first line not found: {missing}")
                    failures += 1
            else:
                if not any(contained(body, src)[0] for src in examples.values()):
                    print(f"{where}: a cpp block that is in no file of examples/ "
                          f"(add the code to an example and mark the block with // examples/<file>.cpp)")
                    failures += 1
    print(f"{checked} cpp blocks checked, {failures} not backed by an example")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
