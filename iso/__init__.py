"""Install DVD: remaster a RHEL-family DVD into the branded eXpand installer, inspect it,
boot-test it in QEMU, and build a small demo stand-in for the vendor DVD."""
