"""The enricher registry: names settings may use, the chain they build, one-line errors."""

from __future__ import annotations

import pytest

from pipeline.enrich import registry
from pipeline.errors import SettingsError
from pipeline.settings import DEFAULT_ENRICHERS, Settings


def test_the_default_chain_names_registered_enrichers():
    registry.check(DEFAULT_ENRICHERS)
    assert set(DEFAULT_ENRICHERS) <= set(registry.names())


def test_the_chain_follows_the_setting():
    chain = registry.chain(Settings(enrichers=["host", "time"]))
    assert [enrich.record.__name__ for enrich in chain] == ["fill_host", "fill_time"]


def test_an_unknown_enricher_stops_start_up_with_one_line_naming_the_known_ones():
    with pytest.raises(SettingsError) as caught:
        registry.chain(Settings(enrichers=["time", "geoip"]))
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("LOGWEIR_ENRICHERS names unknown enricher 'geoip': use time, skew")


def test_a_name_cannot_be_registered_twice():
    with pytest.raises(ValueError, match="registered twice"):
        registry.enricher("time")(lambda record, message: None)
