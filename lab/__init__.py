"""Test nodes on one host: namespace nodes with real corosync/pacemaker, the lab network,
the lab fence agent and ``expandctl lab``. Stdlib only below this package's agent, so the
fence agent runs under the system python3 inside a node."""
