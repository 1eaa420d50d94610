"""The compiled part of logweir; everything else is in pyproject.toml."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        # The columnar step's first pass: usual messages into format groups
        # (pipeline/ingest/columnar.py).
        Extension("pipeline.ingest._scan", ["pipeline/ingest/_scan.c"]),
        # The columnar step's JSON, logfmt and key/value fields (pipeline/parsing/fields.py).
        Extension(
            "pipeline.parsing._fields",
            ["pipeline/parsing/_fields.c"],
            depends=["pipeline/parsing/_ascii.h", "pipeline/parsing/_iso.h"],
        ),
        # Python logging's dash layout (pipeline/parsing/pylogging.py).
        Extension(
            "pipeline.parsing._pylogging",
            ["pipeline/parsing/_pylogging.c"],
            depends=["pipeline/parsing/_ascii.h", "pipeline/parsing/_iso.h"],
        ),
        # Access log lines (pipeline/parsing/access.py).
        Extension(
            "pipeline.parsing._access",
            ["pipeline/parsing/_access.c"],
            depends=["pipeline/parsing/_ascii.h"],
        ),
        # Template masking of ASCII bodies (pipeline/enrich/masking.py).
        Extension("pipeline.enrich._masking", ["pipeline/enrich/_masking.c"]),
        # The sink's insert body (pipeline/sink/native.py).
        Extension("pipeline.sink._native", ["pipeline/sink/_native.c"]),
    ]
)
