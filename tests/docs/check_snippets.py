#!/usr/bin/env python3
"""Every ```cpp block in README.md and docs/*.md is extracted from a compiled example.

An example marks a region:

    // snippet-begin: getting-started-policy
    ...code...
    // snippet-hide: getting-started-policy   (optional: these lines become `// ...`)
    // snippet-show: getting-started-policy
    // snippet-end: getting-started-policy

and a page shows it in a block whose first line names the file and the region:

    ```cpp
    // examples/getting_started.cpp: getting-started-policy
    ...the region's text, dedented...
    ```

The check (the default) fails when a block names no region, names one that does not exist,
or differs from what the region renders to; so a snippet is always code that CI builds and
runs, and it cannot drift. `--update` rewrites every block from its region (run it after
editing an example). `--convert` turns old-style blocks (`// examples/<file>.cpp` followed by
lines that appear, in order, in that file) into regions: it adds the markers to the example
(hiding the lines the block skipped) and rewrites the block.

usage: check_snippets.py <repository root> [--update | --convert]
"""
import pathlib
import re
import sys

FENCE = re.compile(r"^```(?:cpp|c\+\+)\s*$")
HEADER = re.compile(r"^//\s*(examples/[\w./-]+\.cpp):\s*([\w.-]+)\s*$")
OLD_HEADER = re.compile(r"^//\s*(examples/[\w./-]+\.cpp)\s*$")
BEGIN = re.compile(r"^\s*//\s*snippet-begin:\s*([\w.-]+)\s*$")
END = re.compile(r"^\s*//\s*snippet-end:\s*([\w.-]+)\s*$")
HIDE = re.compile(r"^\s*//\s*snippet-hide(?::\s*([\w.-]+))?\s*$")
SHOW = re.compile(r"^\s*//\s*snippet-show(?::\s*([\w.-]+))?\s*$")


def blocks(lines):
    """(index of the first code line, index of the closing fence) of every cpp block."""
    i = 0
    while i < len(lines):
        if FENCE.match(lines[i].strip()):
            j = i + 1
            while j < len(lines) and lines[j].strip() != "```":
                j += 1
            yield i + 1, j
            i = j + 1
        else:
            i += 1


def regions(path):
    """name -> rendered lines of every region in an example file."""
    out = {}
    lines = path.read_text(encoding="utf-8").splitlines()
    open_regions = {}
    for n, line in enumerate(lines):
        if m := BEGIN.match(line):
            open_regions[m.group(1)] = n + 1
        elif m := END.match(line):
            name = m.group(1)
            if name not in open_regions:
                raise SystemExit(f"{path}:{n + 1}: snippet-end of {name} without its begin")
            out[name] = render(lines[open_regions.pop(name):n], name)
    if open_regions:
        raise SystemExit(f"{path}: snippet-begin without end: {', '.join(open_regions)}")
    return out


def render(lines, name):
    """A region's text as a page shows it: its hidden runs (`snippet-hide` untagged or tagged
    with its name) become `// ...`; the markers of other regions vanish; common indentation goes."""
    shown, hiding = [], False
    for line in lines:
        hide, show = HIDE.match(line), SHOW.match(line)
        if hide or show:
            mine = (hide or show).group(1) in (None, name)
            if mine and hide and not hiding:
                hiding = True
                indent = line[: len(line) - len(line.lstrip())]
                shown.append(indent + "// ...")
            elif mine and show:
                hiding = False
        elif not hiding and not BEGIN.match(line) and not END.match(line):
            shown.append(line.rstrip())
    width = min((len(l) - len(l.lstrip()) for l in shown if l.strip()), default=0)
    return [l[width:] for l in shown]


def norm(line):
    return "".join(line.split())


def convert_block(root, page, code, counter):
    """Marks the lines of an old-style block in its example and returns the new header."""
    header = OLD_HEADER.match(code[0].strip()) if code else None
    body = code[1:] if header else code
    wanted = [norm(l) for l in body if norm(l) and norm(l) not in ("//...", "...")]
    candidates = [root / header.group(1)] if header else sorted((root / "examples").glob("*.cpp"))
    for source in candidates:
        lines = source.read_text(encoding="utf-8").splitlines()
        found, pos = [], 0
        for w in wanted:
            while pos < len(lines) and norm(lines[pos]) != w:
                pos += 1
            if pos == len(lines):
                break
            found.append(pos)
            pos += 1
        if len(found) != len(wanted) or not found:
            continue
        name = f"{page.stem}-{counter}"
        first, last = found[0], found[-1]
        indent = lines[first][: len(lines[first]) - len(lines[first].lstrip())]
        out = lines[:first] + [f"{indent}// snippet-begin: {name}"]
        kept = set(found)
        n = first
        while n <= last:
            if n in kept:
                out.append(lines[n])
                n += 1
                continue
            gap_end = n
            while gap_end <= last and gap_end not in kept:
                gap_end += 1
            gap = lines[n:gap_end]
            if all(not l.strip() for l in gap):
                out.extend(gap)  # blank lines stay visible
            else:
                gi = gap[0][: len(gap[0]) - len(gap[0].lstrip())] if gap[0].strip() else indent
                out += [f"{gi}// snippet-hide: {name}"] + gap + [f"{gi}// snippet-show: {name}"]
            n = gap_end
        out += [f"{indent}// snippet-end: {name}"] + lines[last + 1:]
        source.write_text("\n".join(out) + "\n", encoding="utf-8")
        return f"// {source.relative_to(root).as_posix()}: {name}"
    return None


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    mode = next((a for a in sys.argv[1:] if a.startswith("--")), "--check")
    root = pathlib.Path(args[0] if args else ".").resolve()
    pages = [p for p in [root / "README.md"] + sorted((root / "docs").glob("*.md")) if p.exists()]
    failures = checked = 0
    for page in pages:
        lines = page.read_text(encoding="utf-8").splitlines()
        changed = False
        counter = 0
        for start, end in reversed(list(blocks(lines))):
            counter += 1
            checked += 1
            where = f"{page.relative_to(root)}:{start + 1}"
            code = lines[start:end]
            header = HEADER.match(code[0].strip()) if code else None
            if not header and mode == "--convert":
                new = convert_block(root, page, code, len(list(blocks(lines))) - counter + 1)
                if new is None:
                    print(f"{where}: could not find this block in an example")
                    failures += 1
                    continue
                code = [new] + code[1:]
                header = HEADER.match(new)
                lines[start:end] = code
                end = start + len(code)
                changed = True
            if not header:
                print(f"{where}: a cpp block must start with `// examples/<file>.cpp: <region>` "
                      f"naming a snippet region of a compiled example")
                failures += 1
                continue
            source = root / header.group(1)
            if not source.exists():
                print(f"{where}: names {header.group(1)}, which does not exist")
                failures += 1
                continue
            found = regions(source)
            name = header.group(2)
            if name not in found:
                print(f"{where}: {header.group(1)} has no region '{name}'")
                failures += 1
                continue
            expected = [code[0]] + found[name]
            if code != expected:
                if mode in ("--update", "--convert"):
                    lines[start:end] = expected
                    changed = True
                else:
                    print(f"{where}: differs from region '{name}' of {header.group(1)} "
                          f"(run: python3 tests/docs/check_snippets.py . --update)")
                    failures += 1
        if changed:
            page.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{checked} cpp blocks checked, {failures} not extracted from an example")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
