"""Shared core of the eXpand appliance toolkit: answers model, reports, Runner, FileSink, CLI."""
