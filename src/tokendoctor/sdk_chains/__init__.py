"""Other SDKs' credential chains: the tables (data, with sources), Java properties, and the walk."""
