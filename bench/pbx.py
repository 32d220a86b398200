"""The PBX's figures: render, throwaway proof, apply and reload of a big site; the calls per
second the ACME IVR sustains in sipp.

What the user waits for, as whole processes, each against a reference in the same run,
interleaved, medians:
- render: ``expandctl pbx render`` of a generated site (2,000 extensions, 100 queues of 20;
  pbx.render_sample) into a fresh folder, against ``cp -r`` of that output;
- proof: ``expandctl pbx prove --in-root`` of the big render, against the ACME render;
- apply / reload: ``expandctl pbx apply`` of the big site (its E1 trunk left out: a DAHDI
  change is "restart required", not applied live) on a box whose Asterisk runs
  (bench/pbx_apply_box.py), then of the same site with one extension more (the live
  reload); ``n/a`` where this tree has no ``pbx apply``;
- calls/s: sipp calls (as extension 772) into the ACME IVR on a booted throwaway Asterisk
  for ``--seconds`` at rising rates (``--rates``); the highest rate with 0 failed calls is
  reported, or the first rate tried and its failures.
Needs root and the Asterisk root (lab.asterisk_root). Goals (the issue; not asserted):
render ≤ 1 s, apply ≤ 15 s, ≥ 20 calls/s with 0 failures.
    .venv/bin/python bench/pbx.py [--runs 3] [--seconds 60] [--rates 20,30,40]
Last line: ``pbx render_s=A apply_s=B reload_s=C calls_per_s=D failed=E extensions=N``.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.pbx_apply_box import apply_and_reload  # noqa: E402
from lab.asterisk_root import ensure_asterisk_root  # noqa: E402
from pbx.call_lab import booted_site  # noqa: E402
from pbx.chroot import chroot_prefix  # noqa: E402
from pbx.render_sample import big_site_toml  # noqa: E402
from pbx.throwaway import AsteriskPlace  # noqa: E402

EXPANDCTL = Path(sys.executable).parent / "expandctl"
ACME = REPO / "examples" / "site" / "acme.toml"
IVR_NUMBER = "500"


def timed(argv: list[str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{proc.stdout}\n{proc.stderr}")
    return elapsed


def render_and_prove(work: Path, args: argparse.Namespace,
                     root: Path) -> tuple[float, float, float, float]:
    """Medians: big render, its cp -r; big proof, ACME proof."""
    site = work / "big.toml"
    site.write_text(big_site_toml(args.extensions, args.queues))
    renders, copies, proofs, acme_proofs = [], [], [], []
    # The reference: ACME without its audio folder, which this root lacks (as the big site).
    acme, acme_out = work / "acme.toml", work / "acme"
    acme.write_text("\n".join(line for line in ACME.read_text().splitlines()
                              if not line.startswith("audio-dir")))
    timed([str(EXPANDCTL), "pbx", "render", str(acme), "--out", str(acme_out)])
    for run in range(args.runs):
        out, copy = work / f"out{run}", work / f"copy{run}"
        renders.append(timed([str(EXPANDCTL), "pbx", "render", str(site), "--out", str(out)]))
        copies.append(timed(["cp", "-r", str(out), str(copy)]))
        proofs.append(timed([str(EXPANDCTL), "pbx", "prove", str(out / "etc/asterisk"),
                             "--in-root", str(root), "--endpoints", str(args.extensions + 1),
                             "--timeout", "120"]))
        acme_proofs.append(timed([str(EXPANDCTL), "pbx", "prove",
                                  str(acme_out / "etc/asterisk"), "--in-root", str(root)]))
        print(f"run {run + 1}: render {renders[-1]:.3f} s (cp -r {copies[-1]:.3f} s), "
              f"prove {proofs[-1]:.1f} s (ACME {acme_proofs[-1]:.1f} s)", flush=True)
    return (statistics.median(renders), statistics.median(copies),
            statistics.median(proofs), statistics.median(acme_proofs))


def calls_per_second(root: Path, rates: list[float], seconds: int) -> tuple[float, int]:
    """The highest of ``rates`` held for ``seconds`` with no failed call (rates rise until
    one fails), or the first rate and its failures."""
    data = tomllib.loads(ACME.read_text())
    data["ivr"]["acme"]["number"] = IVR_NUMBER
    place = AsteriskPlace(chroot_prefix(root), root)
    best: tuple[float, int] | None = None
    with booted_site(place, data) as lab:
        for rate in rates:
            result = lab.call(IVR_NUMBER, caller="772", lead_ms=0, hold_ms=2000,
                              calls=int(rate * seconds), rate=rate, limit=int(rate * 10),
                              deadline=seconds + 30)
            print(f"  {rate:g} calls/s for {seconds} s: {result.summary()}", flush=True)
            if result.failed == 0 and result.successful == int(rate * seconds):
                best = (rate, 0)
                continue
            if best is None:
                best = (rate, result.failed or int(rate * seconds) - result.successful)
            break
    assert best is not None
    return best


def live_sites(extensions: int, queues: int) -> tuple[str, str]:
    """The big site without its E1 trunk, and the same with one extension more."""
    text = big_site_toml(extensions, queues).replace('trunk = "pstn"', 'trunk = "gsm"')
    text = text.replace("[e1-trunks.pstn]\nspan = 1\n", "")
    more = ('[users.u9999]\nname = "User 9999"\nemail = "u9999@example.com"\n'
            'department = "d0"\nprofile = "agent"\n\n'
            '[extensions.9999]\nuser = "u9999"\ndepartment = "d0"\n\n')
    return text, text.replace("[queues.q0]", more + "[queues.q0]", 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--extensions", type=int, default=2000)
    parser.add_argument("--queues", type=int, default=100)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--rates", default="20,30,40",
                        help="call rates to try, rising (default 20,30,40)")
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",") if r.strip()]
    root = ensure_asterisk_root()
    with tempfile.TemporaryDirectory(prefix="pbx-bench-") as tmp:
        render_s, copy_s, prove_s, acme_prove_s = render_and_prove(Path(tmp), args, root)
    print(f"render {render_s:.3f} s (cp -r {copy_s:.3f} s); throwaway proof {prove_s:.1f} s "
          f"(ACME {acme_prove_s:.1f} s)")
    timings = apply_and_reload(root, *live_sites(args.extensions, args.queues))
    apply_s, reload_s = (f"{t:.1f}" for t in timings) if timings else ("n/a", "n/a")
    print(f"pbx apply {apply_s} s, live reload (one extension more) {reload_s} s"
          + ("" if timings else " (no pbx apply in this tree)"))
    rate, failed = calls_per_second(root, rates, args.seconds)
    print(f"pbx render_s={render_s:.3f} apply_s={apply_s} reload_s={reload_s} "
          f"calls_per_s={rate:g} "
          f"failed={failed} extensions={args.extensions}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
