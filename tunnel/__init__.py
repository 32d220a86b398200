"""Support tunnel: reverse SSH tunnel daemon, hub authorized_keys, support CLI (issue to come)."""
