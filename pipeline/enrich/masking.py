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

WILDCARD = "<*>"

# Only the head of the first line defines the template.
HEAD_CHARS = 300

_FILE_SUFFIX = (
    r"exe|dll|sys|so|jar|war|class|py|pyc|js|ts|rb|php|jsp|aspx?|html?|css|log|txt|out|err|"
    r"conf|cfg|ini|xml|json|ya?ml|toml|properties|sh|bat|ps1|gz|bz2|xz|zip|tar|tgz|rpm|deb|"
    r"pid|sock|db|sqlite|tmp|bak|lock|dylib|plist|app|img|iso|csv|pdf|png|jpe?g|gif|svg"
)
_DOMAIN_SUFFIX = r"com|net|org|edu|gov|mil|int|io|dev|local|localdomain|lan|internal|corp|home"
_NAMES = (
    r"Mon(?:day)?|Tue(?:sday)?|Wed(?:nesday)?|Thu(?:rsday)?|Fri(?:day)?|Sat(?:urday)?|"
    r"Sun(?:day)?|Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|"
    r"Aug(?:ust)?|Sep(?:t|tember)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?"
)
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


def mask(body: str) -> str:
    """The body's head with its known variable parts as `<*>` (see the module docstring)."""
    return _MASK.sub(WILDCARD, head(body))
