"""The two-node cluster: corosync.conf, the CIB (storage, filesystem, VIP, service), fencing,
DRBD config, status and the ``expandctl ha`` commands."""
