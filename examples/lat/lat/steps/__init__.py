"""Processing steps of the L1-like chain and the art container study modules."""
