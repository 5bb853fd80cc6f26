#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""man-from-help.py SPTE VERSION OUTPUT - write spte(1) from the built spte's
own help: `spte --help` for the synopsis, the description and the command
list, then `spte CMD --help` for each command listed there, in that order.

Nothing is written here that the CLI does not print, so the page cannot
disagree with the binary it is built with.  The help text's shapes are:
  "Usage: LINE" or "Usage:" then an indented LINE (GLib's GOptionContext),
      for a command "CMD ARGS - summary";
  "Title:" then, up to a blank line, indented "  TERM  DESCRIPTION" rows
      (two or more spaces between the two), headings of rows (" In the
      guest:") and prose;
  "Help Options:" (only -h, --help: said once, in the synopsis);
  anything else: paragraphs, separated by blank lines.
A command whose --help fails, or has no usage line, is an error: the page
would silently lose it.
"""
import os
import re
import subprocess
import sys

ROW = re.compile(r"^( +)(\S(?:.*?\S)?) {2,}(\S.*)$")


def esc(text):
    """Roff-escape running text: backslashes, hyphens, non-ASCII."""
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\e")
        elif ch == "-":
            out.append("\\-")
        elif ord(ch) > 127:
            out.append("\\[u%04X]" % ord(ch))
        else:
            out.append(ch)
    return "".join(out)


def line(text):
    """A text line that roff will not read as a request."""
    s = esc(text)
    return "\\&" + s if s[:1] in (".", "'") else s


def arg(text):
    """A macro argument, quoted."""
    return '"' + esc(text).replace('"', "\\(dq") + '"'


def option_term(term):
    """-j, --json=FILE: bold option names, italic values."""
    parts = []
    for opt in term.split(", "):
        name, eq, value = opt.partition("=")
        parts.append("\\fB" + esc(name) + "\\fR" +
                     ("=\\fI" + esc(value) + "\\fR" if eq else ""))
    return ", ".join(parts)


def word_term(term):
    """fill GPA PAGES PATTERN: the word bold, upper-case placeholders italic."""
    words = term.split(" ")
    out = ["\\fB" + esc(words[0]) + "\\fR"]
    for w in words[1:]:
        out.append("\\fI" + esc(w) + "\\fR" if re.fullmatch(r"[A-Z][A-Z_]*", w)
                   else esc(w))
    return " ".join(out)


def run_help(spte, *args):
    env = dict(os.environ, LC_ALL="C.UTF-8")
    r = subprocess.run([spte, *args], capture_output=True, text=True, env=env)
    if r.returncode != 0:
        sys.exit("man-from-help.py: '%s' exited %d:\n%s" %
                 (" ".join(["spte", *args]), r.returncode, r.stderr))
    return r.stdout


def split_usage(text, what):
    """The usage line and the text after it."""
    lines = text.split("\n")
    for i, l in enumerate(lines):
        if l.startswith("Usage:"):
            rest = l[len("Usage:"):].strip()
            if rest:
                return rest, "\n".join(lines[i + 1:])
            if i + 1 < len(lines) and lines[i + 1].strip():
                return lines[i + 1].strip(), "\n".join(lines[i + 2:])
    sys.exit("man-from-help.py: %s has no usage line" % what)


def body(text, out, term=word_term):
    """Paragraphs, titled row lists and headings, as roff lines."""
    section = None          # the title of the row list we are in
    para = True             # the next prose line starts a paragraph
    for raw in text.split("\n"):
        l = raw.rstrip()
        if not l:
            section = None
            para = True
            continue
        if section == "Help Options":
            continue
        if l.endswith(":") and not l.startswith(" ") and not ROW.match(l):
            section = l[:-1]
            if section == "Help Options":
                continue
            out.append(".PP")
            out.append("\\fB" + esc(section) + "\\fR")
            para = False
            continue
        m = ROW.match(l) if section else None
        if m:
            t = m.group(2)
            is_option = t.startswith("-")
            out.append(".TP")
            out.append(option_term(t) if is_option else term(t))
            out.append(line(m.group(3)))
            para = True
            continue
        if section and l.startswith(" ") and l.endswith(":"):
            out.append(".PP")
            out.append("\\fI" + esc(l.strip()[:-1]) + "\\fR")
            para = True
            continue
        if para:
            out.append(".PP")
            para = False
        out.append(line(l.strip()))


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: man-from-help.py SPTE VERSION OUTPUT")
    spte, version, output = sys.argv[1:]

    top = run_help(spte, "--help")
    synopsis, rest = split_usage(top, "spte --help")
    commands = []
    in_commands = False
    for l in rest.split("\n"):
        if l == "Commands:":
            in_commands = True
        elif not l.strip():
            in_commands = False
        elif in_commands:
            m = ROW.match(l)
            if not m:
                sys.exit("man-from-help.py: not a command row: %r" % l)
            commands.append(m.group(2))
    if not commands:
        sys.exit("man-from-help.py: spte --help lists no commands")
    paragraphs = [p.strip() for p in rest.split("\n\n") if p.strip()]
    tagline = paragraphs[0]
    name = re.sub(r"^spte-lab: ", "", tagline).rstrip(".")

    out = [
        '.\\" Generated by man/man-from-help.py from the help of spte %s;'
        % esc(version),
        '.\\" edit the help text in the source, not this file.',
        ".TH SPTE 1 \"\" %s \"User Commands\"" % arg("spte-lab " + version),
        ".SH NAME",
        "spte \\- " + esc(name),
        ".SH SYNOPSIS",
        ".nf",
        line(synopsis),
    ]
    sections = []
    for cmd in commands:
        text = run_help(spte, cmd, "--help")
        usage, text = split_usage(text, "spte %s --help" % cmd)
        usage = re.sub(r"^spte ", "", usage)
        synopsis_cmd, _, summary = usage.partition(" - ")
        out.append(line("spte " + synopsis_cmd))
        sections.append((cmd, synopsis_cmd, summary, text))
    out.append(line("spte COMMAND --help"))
    out += [".fi", ".SH DESCRIPTION"]
    body(rest, out,
         term=lambda t: "\\fB" + esc(t) + "\\fR")
    out.append(".SH COMMANDS")
    for cmd, synopsis_cmd, summary, text in sections:
        out.append(".SS " + arg("spte " + synopsis_cmd))
        if summary:
            out.append(line(summary[:1].upper() + summary[1:] + "."))
        body(text, out)
    with open(output, "w", encoding="ascii") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
