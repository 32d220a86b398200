"""Test nodes: namespace and nspawn containers, QEMU VMs, the lab fence agent."""
