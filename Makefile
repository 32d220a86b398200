# Two commands for a fresh Debian 12 machine (as root): `make demo` and `make test`.
# Both install what they need: Debian packages (apt-get) and a virtualenv in .venv.

PYTHON  ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
PYTEST_TIERS ?= unit or integration or vm

# Debian packages the toolkit and its tests drive for real (see ../shared/TESTBED.md).
APT_PACKAGES := python3-venv xorriso isolinux syslinux-common grub-efi-amd64-bin grub-common \
	mtools dosfstools isomd5sum dialog tmux qemu-system-x86 qemu-utils ovmf \
	busybox-static cpio debootstrap systemd-container iproute2 kmod iputils-ping \
	corosync pacemaker pacemaker-cli-utils pcs resource-agents fence-agents drbd-utils \
	sox sip-tester libtiff-tools openssh-server openssh-client nftables postfix \
	rpm rpmlint createrepo-c

.PHONY: demo test test-unit test-integration test-vm lint sysdeps venv wheelhouse clean

sysdeps:
	@missing=$$(for p in $(APT_PACKAGES); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; \
	  done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:" $$missing; \
	  for i in 1 2 3 4 5 6; do \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing && exit 0; \
	    echo "apt-get failed (dpkg lock busy?); retrying in 20 s"; sleep 20; \
	  done; exit 1; \
	fi

$(BIN)/expandctl: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test,verify]'
	@touch $@

venv: $(BIN)/expandctl

# The wheels 'expandctl release build' bundles (the one online step; tests and the demo
# build the package offline from this cache with --wheels).
RELEASE_WHEELS := /var/cache/expand/release-wheels
wheelhouse: venv
	$(BIN)/expandctl release wheels --out $(RELEASE_WHEELS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/mypy .

# The whole suite: ruff and mypy --strict run as tests (tests/unit/test_linters.py).
# pytest exits 5 when it collected no test: that fails here like any other error.
test: sysdeps venv wheelhouse
	$(BIN)/pytest -m "$(PYTEST_TIERS)"

test-unit: venv
	$(BIN)/pytest -m unit tests/unit

test-integration: sysdeps venv wheelhouse
	$(BIN)/pytest -m integration

test-vm: sysdeps venv
	$(BIN)/pytest -m vm

DEMO := build/demo
DRY_RUN := --root $(DEMO)/root --platform rhel --lan-nic eth0 --interconnect-nic eth1
demo: sysdeps venv wheelhouse
	@mkdir -p $(DEMO)
	@echo "== 1. hardware check of this machine"
	$(BIN)/expandctl hardware check
	@echo; echo "== 2. sizing for 90 concurrent calls"
	$(BIN)/expandctl hardware size --concurrent-calls 90
	@echo; echo "== 3. kickstart rendered and validated"
	$(BIN)/expandctl kickstart render -o $(DEMO)/ks.cfg
	$(BIN)/expandctl kickstart validate $(DEMO)/ks.cfg
	@echo; echo "== 4. example answers validated"
	$(BIN)/expandctl answers validate examples/answers/*.toml
	@echo; echo "== 5. first boot: plan, then a dry run into $(DEMO)/root (files only)"
	@rm -rf $(DEMO)/root && mkdir -p $(DEMO)/root
	$(BIN)/expandctl firstboot plan examples/answers/primary.toml $(DRY_RUN)
	$(BIN)/expandctl firstboot --answers examples/answers/primary.toml --yes $(DRY_RUN)
	$(BIN)/expandctl firstboot status --root $(DEMO)/root
	@echo; echo "== 5b. PBX: the seed's boot camp site validated and rendered into $(DEMO)/pbx"
	$(BIN)/expandctl pbx validate examples/site/acme.toml
	@rm -rf $(DEMO)/pbx
	$(BIN)/expandctl pbx render examples/site/acme.toml --out $(DEMO)/pbx
	@echo; echo "== 5c. PBX: the render proven on a throwaway Asterisk; one sipp call into the IVR"
	$(BIN)/python bench/pbx_demo_call.py
	@echo; echo "== 6. install DVD: the product package, the demo base (DEMO BaseOS/AppStream stand-ins) and DEMO vendor folders, the DVD with its closure-checked repository, inspect, BIOS boot (menu as seen on the serial console)"
	$(BIN)/expandctl release build --out $(DEMO)/dist --wheels $(RELEASE_WHEELS)
	$(BIN)/expandctl iso demo-base --out $(DEMO)/base.iso --vendor-repos $(DEMO)/vendor
	$(BIN)/expandctl iso build --base $(DEMO)/base.iso --out $(DEMO)/eXpand-3.2.iso --answers examples/answers/primary.toml \
	  --repo $(DEMO)/dist --repo $(DEMO)/vendor/HighAvailability --repo $(DEMO)/vendor/ELRepo-DRBD --repo $(DEMO)/vendor/Asterisk
	$(BIN)/expandctl iso inspect $(DEMO)/eXpand-3.2.iso
	$(BIN)/expandctl iso boot-test $(DEMO)/eXpand-3.2.iso --firmware bios --media cdrom --show-menu --log $(DEMO)/boot-bios-cdrom.log
	@echo; echo "== 7. HA lab: two appliance nodes (nspawn), each set up by its own unattended first boot, the real Asterisk as the cluster's service"
	$(BIN)/expandctl lab up --appliance
	@sh -c 'rc=0; $(BIN)/expandctl lab exec expand1 -- expandctl ha status && \
	  echo && echo "== 8. hard kill of the active node; failover timed from the client (ping and SIP on the VIP)" && \
	  $(BIN)/python bench/failover.py --runs 1 --appliance || rc=1; \
	  active=$$($(BIN)/expandctl lab status | awk "/holds the VIP/ {print \$$1}"); \
	  echo "-- ha status on the survivor, $$active"; \
	  $(BIN)/expandctl lab exec $$active -- expandctl ha status || rc=1; \
	  $(BIN)/expandctl lab down; exit $$rc'
	@echo; echo "== 9. remote support: a hub and two appliances (namespaces, real sshds and tunnel daemons); support list, support run --all -- uptime; the hub restarted"
	$(BIN)/python bench/support_demo.py

clean:
	rm -rf build .mypy_cache .pytest_cache .ruff_cache
