"""Kickstart for the eXpand install DVD: built with pykickstart objects, checked beyond syntax."""
