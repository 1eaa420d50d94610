"""Templates: variable parts masked, ids stable."""

from __future__ import annotations

import pytest

from pipeline.enrich.templates import mask, template_of


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "payment provider timeout after 1234 ms (order 0b7c8a52-3f0e-4c1e-9d7a-2f0c6b1e9a10)",
            "payment provider timeout after <*> ms (order <*>)",
        ),
        (
            "database connection refused: host=10.0.3.7:5432",
            "database connection refused: host=<*>",
        ),
        ("user bob@example.com logged in from 2001:db8::1", "user <*> logged in from <*>"),
        ("took 35ms, 12.5% cpu", "took <*>, <*> cpu"),
        ("GET /api/items/8812 HTTP/1.1 took 0.012", "GET /api/items/<*> HTTP/<*> took <*>"),
        ("job worker_17 finished, disk sda", "job <*> finished, disk sda"),
        ('first line 7\n  File "x.py", line 9', "first line <*>"),
    ],
)
def test_mask(body, expected):
    assert mask(body) == expected


def test_same_template_same_id_different_text_different_id():
    a, _ = template_of("disk full on /dev/sda1 at 91%")
    b, _ = template_of("disk full on /dev/sda1 at 97%")
    c, _ = template_of("disk almost full on /dev/sda1 at 97%")
    assert a == b != c


def test_ids_are_stable_across_processes():
    # A hash of the text: this value must never change, or stored ids stop matching.
    assert template_of("hello 5") == (0x669D09DEA339055D, "hello <*>")
    assert template_of("no variables here") == template_of("no variables here  \nmore")
