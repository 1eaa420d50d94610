"""`python -m pipeline.cli …`: how the demo and the tests start a worker process."""

from pipeline.cli import main

main()
