"""Hub and engineers side of remote support: registry, hub config, fleet runs (fabric)."""
