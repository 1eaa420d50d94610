"""logweir's library: settings, parsing, enrichment, the ClickHouse sink, local stack, CLI."""
