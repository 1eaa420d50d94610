"""Query: what users ask of ClickHouse. Named reports (`logweir query`), exports to files
(`logweir export`) and the time ranges both take, all run read-only with every user value as a
server-side parameter.
"""
