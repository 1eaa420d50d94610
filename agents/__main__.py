"""`python -m agents`: the stream worker (what `logweir worker` runs)."""

from agents.worker import main

main()
