"""The Asterisk stack: the site model (one TOML file), its checks and its CLI."""
