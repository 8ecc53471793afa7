"""Line coverage per domain from the combined coverage data, with a floor per domain.

Groups measured files into dsta/kernel, dsta/quant, the rest of dsta (composition root) and
each domains/<name>; prints a table and exits 1 when any group is below ``--fail-under``.
"""

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import coverage

ROOT = Path(__file__).resolve().parent.parent


def group_of(path: Path) -> str:
    parts = path.relative_to(ROOT).parts
    if parts[0] == "domains" and len(parts) > 2:
        return f"domains/{parts[1]}"
    if parts[0] == "dsta" and len(parts) > 2 and parts[1] in {"kernel", "quant"}:
        return f"dsta/{parts[1]}"
    return parts[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-file", default=str(ROOT / "var" / ".coverage"))
    parser.add_argument("--fail-under", type=float, default=80.0)
    args = parser.parse_args()

    cov = coverage.Coverage(data_file=args.data_file)
    cov.load()
    statements: dict[str, int] = defaultdict(int)
    missing: dict[str, int] = defaultdict(int)
    for filename in cov.get_data().measured_files():
        path = Path(filename)
        if not path.is_relative_to(ROOT) or "tests" in path.parts or "migrations" in path.parts:
            continue
        _, executable, _, missed_lines, _ = cov.analysis2(filename)
        group = group_of(path)
        statements[group] += len(executable)
        missing[group] += len(missed_lines)

    failed = []
    print(f"{'domain':<20}{'lines':>8}{'missed':>8}{'cover':>8}")
    for group in sorted(statements):
        total, missed_count = statements[group], missing[group]
        percent = 100.0 * (total - missed_count) / total if total else 100.0
        flag = "" if percent >= args.fail_under else f"  < {args.fail_under:.0f}%"
        print(f"{group:<20}{total:>8}{missed_count:>8}{percent:>7.1f}%{flag}")
        if flag:
            failed.append(group)
    if failed:
        print(f"coverage below {args.fail_under:.0f}% in: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
