"""Masking: a message's known variable parts become `<*>`, the rest stays as written.

The first step of templating (`miner` does the second: it finds the variable words that no
pattern can recognise). Only the head of the first line counts: stack traces and payloads vary.
Whitespace runs become one space, then one regular expression (one C-level pass, no Python
callback) replaces, each at a token boundary:

- URLs (`scheme://…`), paths (`/var/log/x`, `~/x`, `./x`, `C:\\x`) as a whole;
- quoted strings: what is inside the quotes (`'sparkExecutor'` → `'<*>'`), except an HTTP
  request line, whose method stays (`"GET <*> HTTP/<*>"`);
- the value of `key=value` (`user=<*>`);
- dotted names: three or more parts (host names, Java packages) or two with a file or domain
  suffix (`chrome.exe`, `example.com`);
- weekday and month names;
- any run of `[\\w.:@+%-]` holding a digit or an `@` (numbers, hex, ids, IPs, durations,
  sizes, versions, e-mails, UUIDs), with the characters around it kept (`(order <*>)`,
  `HTTP/<*>`); but letters and one digit (`SOCKS5`, `ssh2`, `eth0`) name a thing more often
  than not, and are left to mining.
"""

from __future__ import annotations

import re

from pipeline.enrich import _masking

WILDCARD = "<*>"

# Only the head of the first line defines the template.
HEAD_CHARS = 300

# Words as one string each, split: a list literal would take a line per word.
FILE_SUFFIXES = (  # noqa: SIM905
    "exe dll sys so jar war class py pyc js ts rb php jsp asp aspx htm html css log txt out err "
    "conf cfg ini xml json yml yaml toml properties sh bat ps1 gz bz2 xz zip tar tgz rpm deb "
    "pid sock db sqlite tmp bak lock dylib plist app img iso csv pdf png jpg jpeg gif svg"
).split()
DOMAIN_SUFFIXES = (  # noqa: SIM905
    "com net org edu gov mil int io dev local localdomain lan internal corp home"
).split()
NAMES = (  # noqa: SIM905
    "Mon Monday Tue Tuesday Wed Wednesday Thu Thursday Fri Friday Sat Saturday Sun Sunday "
    "Jan January Feb February Mar March Apr April May Jun June Jul July Aug August "
    "Sep Sept September Oct October Nov November Dec December"
).split()
# A word in an alternation is followed by a check that no word character follows, so the order
# of the words does not change what matches.
_FILE_SUFFIX = "|".join(FILE_SUFFIXES)
_DOMAIN_SUFFIX = "|".join(DOMAIN_SUFFIXES)
_NAMES = "|".join(NAMES)
# Every alternative starts where a run of [\w.:@+%-] starts: one test up front rejects the
# positions inside words before any alternative is tried, and the alternatives a plain word
# meets first fail after one look at it (a third of the cost of the plain list of patterns).
_MASK = re.compile(
    r"(?<![\w.:@+%-])(?:"
    + "|".join(
        (
            # the value of key=value
            r"(?<=[\w\]]=)[^\s,;&\"'()\[\]{}<>]++",
            # the inside of quotes; an HTTP request line keeps its method
            r"(?<=[\s=(\[:,{]\")(?![A-Z]{3,7} /)[^\"\s][^\"]*+(?=\")",
            r"(?<=^\")(?![A-Z]{3,7} /)[^\"\s][^\"]*+(?=\")",
            r"(?<=[\s=(\[:,{]')[^'\s][^']*+(?='(?!\w))",
            r"(?<=^')[^'\s][^']*+(?='(?!\w))",
            # a run of [\w.:@+%-] with a digit or an @: numbers, ids, addresses, sizes,
            # durations, versions, e-mails; but letters and one digit (SOCKS5, ssh2, eth0) name
            # a thing more often than not, and are left to mining
            r"(?=[A-Za-z_.:+%-]*+[\d@])(?![A-Za-z]++\d(?![\w.:@+%-]))[\w.:@+%-]++",
            # a word followed by a dot or a colon: URL, dotted names (host names, packages),
            # file names and domains
            r"[A-Za-z_][\w-]*+(?=[.:+])(?:"
            r"(?:[+.][\w-]++)*+://[^\s\"'<>()\[\]{}]*+"
            r"|(?:\.[A-Za-z_][\w-]*+){2,}+(?::\d++)?+(?:\.|(?![\w.]))"
            rf"|\.(?i:{_FILE_SUFFIX}|{_DOMAIN_SUFFIX})(?::\d++)?+(?![\w])"
            r")",
            # Unix or Windows path (a slash inside a word, as in read/write, is not a start)
            r"(?:~|\.{1,2})?+/[\w.@%+~-][^\s\"'<>()\[\]{},;]*+",
            r"[A-Za-z]:\\[^\s\"'<>()\[\]{},;]*+",
            # weekday and month names
            rf"(?=[ADFJMNOSTW])(?:{_NAMES})(?![\w@])",
        )
    )
    + ")"
)


def head(body: str) -> str:
    """The part of a body that is templated: its first line, at most HEAD_CHARS long,
    whitespace runs as one space."""
    text = body[:HEAD_CHARS]
    if "\n" in text:
        text = text.split("\n", 1)[0]
    return " ".join(text.split())


def regex_mask(body: str) -> str:
    """The body's head with its known variable parts as `<*>` (see the module docstring): the
    definition, and what masks a body with characters beyond ASCII."""
    return _MASK.sub(WILDCARD, head(body))


def mask(body: str) -> str:
    """`regex_mask(body)`, by the C matcher for an ASCII body (a tenth of the worker's CPU was
    this regex; `_masking.c` walks its alternatives without the regex engine)."""
    masked = _masking.mask(body)
    return regex_mask(body) if masked is None else masked


_masking.configure(head_chars=HEAD_CHARS, suffixes=FILE_SUFFIXES + DOMAIN_SUFFIXES, names=NAMES)
