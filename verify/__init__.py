"""testinfra checks of a deployed appliance or cluster, run by ``expandctl verify``.

The checks are pytest modules in this package (``checks_*.py``); ``verify.run`` runs them
in a pytest subprocess against one or more hosts and parses the results. Later issues add
their own modules (DRBD) beside ``checks_appliance.py``.
"""
