"""Custom metrics in the store: the series catalog, the write batch, the hot tier of
recent samples, rollups, and reads by label matchers and groups."""
