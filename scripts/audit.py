"""Known vulnerabilities in the installed dependencies, by pip-audit (PyPI's advisory data).

    python -m scripts.audit            # exit 1 on a known vulnerability
    python -m scripts.audit --require  # also exit 2 when packages could not be audited

pip-audit needs PyPI's JSON API (or OSV). Where neither is reachable — a sandboxed CI
with only a package mirror — every package comes back "could not be audited" and plain
pip-audit still exits 0; this wrapper says so loudly instead of passing in silence.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--require", action="store_true", help="fail when any package could not be audited")
    args = parser.parse_args(argv)
    done = subprocess.run([sys.executable, "-m", "pip_audit", "--format", "json", "--progress-spinner", "off",
                           "--skip-editable"], capture_output=True, text=True, check=False)
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        print(done.stderr or done.stdout, file=sys.stderr)
        return 2
    deps = report["dependencies"]
    vulnerable = [d for d in deps if d.get("vulns")]
    skipped = [d for d in deps if "skip_reason" in d]
    for dep in vulnerable:
        for vuln in dep["vulns"]:
            fixes = ", ".join(vuln.get("fix_versions", [])) or "no fixed release yet"
            print(f"VULNERABLE {dep['name']} {dep['version']}: {vuln['id']} (fixed in: {fixes})")
    audited = len(deps) - len(skipped)
    print(f"audited {audited} of {len(deps)} packages: {len(vulnerable)} with known vulnerabilities")
    if skipped:
        print(f"NOT AUDITED: {len(skipped)} packages, e.g. {skipped[0]['skip_reason']} — "
              "the vulnerability service (pypi.org JSON API or api.osv.dev) is not reachable from here")
    if vulnerable:
        return 1
    return 2 if skipped and args.require else 0


if __name__ == "__main__":
    sys.exit(main())
