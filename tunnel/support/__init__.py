"""Support side of the remote-support tunnel: the hub (registry of sites and ports, the
tunnel user's authorized_keys lines and sshd settings, the reclaim forced command, the list
of connected appliances) and the engineers' fleet commands."""
