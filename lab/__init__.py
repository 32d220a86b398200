"""Test nodes on one host: namespace nodes with real corosync/pacemaker, the lab network,
the lab fence agent and ``expandctl lab``. This file imports nothing: the fence agent
(lab/fence_agent.py, stdlib only) runs under the system python3 inside a node."""
