"""A generated site of any size (the benchmark's 2,000 extensions and 100 queues), as TOML."""

from __future__ import annotations

DEPARTMENTS = 10


def big_site_toml(extensions: int = 2000, queues: int = 100) -> str:
    """Extensions 2000.. (4 digits), each with its user; queues of 20 members each; one
    schedule, an IVR whose day menu reaches the first nine queues, routes and trunks."""
    out = ['[site]', 'name = "Big S.A."', 'timezone = "America/Montevideo"', '']
    for d in range(DEPARTMENTS):
        out += [f"[departments.d{d}]", f'name = "Department {d}"',
                f'email = "d{d}@example.com"', ""]
    out += ["[profiles.agent]", 'name = "Agent"', 'permissions = ["listen-recordings"]', ""]
    for i in range(extensions):
        number, dep = 2000 + i, f"d{i % DEPARTMENTS}"
        out += [f"[users.u{number}]", f'name = "User {number}"',
                f'email = "u{number}@example.com"', f'department = "{dep}"',
                'profile = "agent"', "",
                f"[extensions.{number}]", f'user = "u{number}"', f'department = "{dep}"', ""]
    for q in range(queues):
        members = ", ".join(f'"{2000 + (q * 20 + k) % extensions}"' for k in range(20))
        out += [f"[queues.q{q}]", f'department = "d{q % DEPARTMENTS}"',
                'strategy = "rrmemory"', f"members = [{members}]",
                'entry-prompt = "msjEntradaCola"', 'exit-prompt = "msjSalidaCola"',
                "max-wait = 120", 'exit-options = { "0" = "ivr:main" }', ""]
    options = ", ".join(f'"{k}" = "queue:q{k - 1}"' for k in range(1, min(queues, 9) + 1))
    out += ["[schedules.office]", 'name = "Office"', 'values = ["Day", "Night"]',
            'default = "Night"', 'timezone = "America/Montevideo"', "",
            "[schedules.office.events.day]", 'value = "Day"', 'start = "09:00"',
            'end = "17:59"', 'days = ["mon-fri"]', "",
            "[menus.day]", 'prompt = "msjBienvenida"', f"options = {{ {options} }}",
            "dial-by-extension = true", 'timeout-target = "queue:q0"', "",
            "[menus.night]", 'prompt = "msjBienvenidaNocturno"', "dial-by-extension = true",
            'timeout-target = "voicemail:2000"', "",
            "[ivr.main]", 'name = "Main"', 'schedule = "office"',
            'menus = { Day = "day", Night = "night" }', 'menu = "night"', "",
            "[routes.local]", 'patterns = ["_[24]XXXXXXX"]', 'trunk = "pstn"', "",
            "[routes.international]", 'patterns = ["_00X."]', 'trunk = "pstn"', "pin = true",
            "record = true", "",
            "[pins.boss]", 'user = "u2000"', "",
            "[e1-trunks.pstn]", "span = 1", "",
            "[sip-trunks.gsm]", 'host = "198.51.100.20"', ""]
    return "\n".join(out)
