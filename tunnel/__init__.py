"""The appliance side of remote support: the reverse-tunnel daemon (paramiko), its state
file, the support window and ``expandctl tunnel``."""
