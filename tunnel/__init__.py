"""Remote support: the appliance's reverse-tunnel daemon (paramiko), its state file, the
support window and ``expandctl tunnel``; in ``tunnel.support`` the hub's side (registry, key
lines, claim) and the engineers' fleet commands (``expandctl support``)."""
