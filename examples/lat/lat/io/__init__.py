"""File formats: the raw LDF-like format (numpy only) and ROOT via uproot."""
