"""Asterisk stack: site model, config render and IVR audio checks (issue to come)."""
