"""logweir's library: settings, parsing, enrichment, the ClickHouse sink, the local stack, the CLI."""
