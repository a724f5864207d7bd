"""Runs the official DTDL parser cases (``../shared/conformance/dtdl-parser-cases``) through
our parser and scores them as the reference harness does.

    .venv/bin/python -m tests.modeling.conformance [--failures FILE] [--show N]

A valid case must parse. An invalid case must fail, and every error raised must carry one of
the case's expected validation ids (and its PrimaryID when the case gives one); a case that
expects unresolved identifiers must fail with exactly those unresolved.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twin_server.modeling.errors import ModelError
from twin_server.modeling.parser import Options, parse_texts

CASES = Path(__file__).resolve().parents[3] / "shared" / "conformance" / "dtdl-parser-cases"


@dataclass
class Outcome:
    name: str
    valid: bool  # what the case says
    verdict_ok: bool
    ids_ok: bool  # invalid cases: only expected ids raised
    detail: str


def case_files() -> list[Path]:
    return sorted(p for p in CASES.glob("*.json") if p.stem.endswith(("V2", "V3")))


def _resolver(case: dict[str, Any]) -> Any:
    known: dict[str, str] = {}
    for exchange in case.get("resolution") or []:
        for doc in exchange.get("response") or []:
            if isinstance(doc, dict) and isinstance(doc.get("@id"), str):
                known[doc["@id"]] = json.dumps(doc, indent=2)

    def resolve(ids: Any) -> dict[str, str]:
        return {f"resolved:{i}": known[i] for i in ids if i in known}

    return resolve if known or case.get("resolution") else None


def run_case(path: Path) -> Outcome:
    case = json.loads(path.read_text(encoding="utf-8-sig"))
    options = Options(max_dtdl_version=case.get("maxDtdlVersion") or 3)
    if "AllowUndefinedExtensions" in case.get("options", []):
        options.allow_undefined_extensions = True
    if "DisallowUndefinedExtensions" in case.get("options", []):
        options.allow_undefined_extensions = False
    sources = [(f"input[{i}]", json.dumps(doc, indent=2)) for i, doc in enumerate(case["input"])]
    expect = case.get("expect") or {}
    try:
        parse_texts(sources, options=options, resolver=_resolver(case))
    except ModelError as exc:
        if case["valid"]:
            return Outcome(path.stem, True, False, True, str(exc).replace("\n", " ⏎ ")[:300])
        if expect.get("unresolvedIdentifiers") is not None:
            ok = not exc.errors and set(exc.unresolved) == set(expect["unresolvedIdentifiers"])
            return Outcome(path.stem, False, True, ok, str(exc)[:400])
        wanted = expect.get("parsingErrors") or []
        allowed = {e["ValidationID"] for e in wanted}
        bad = [e for e in exc.errors if e.validation_id not in allowed]
        if exc.unresolved:
            bad_detail = f"unresolved {sorted(exc.unresolved)}"
        else:
            bad_detail = "; ".join(f"{e.code} ({e.primary_id})" for e in bad)
        ok = not bad and not exc.unresolved
        want = ", ".join(sorted(a.rsplit(":", 1)[1] for a in allowed))
        return Outcome(path.stem, False, True, ok, f"got: {bad_detail} | want: {want}")
    except Exception as exc:
        return Outcome(path.stem, case["valid"], False, False, f"CRASH {type(exc).__name__}: {exc}")
    if case["valid"]:
        return Outcome(path.stem, True, True, True, "")
    want = [e["ValidationID"].rsplit(":", 1)[1] for e in expect.get("parsingErrors") or []]
    return Outcome(path.stem, False, False, False, f"accepted; want {want or expect}")


def score(outcomes: list[Outcome]) -> dict[str, float]:
    invalid = [o for o in outcomes if not o.valid]
    return {
        "cases": len(outcomes),
        "verdict": sum(o.verdict_ok for o in outcomes) / len(outcomes),
        "ids": sum(o.verdict_ok and o.ids_ok for o in invalid) / len(invalid),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--failures", type=Path)
    parser.add_argument("--show", type=int, default=0)
    args = parser.parse_args()
    outcomes = [run_case(p) for p in case_files()]
    figures = score(outcomes)
    print(
        f"{figures['cases']:.0f} cases: right verdict {figures['verdict']:.1%}; invalid cases "
        f"raising only expected ids {figures['ids']:.1%}"
    )
    failing = [o for o in outcomes if not (o.verdict_ok and o.ids_ok)]
    lines = [f"{o.name}\t{'verdict' if not o.verdict_ok else 'ids'}\t{o.detail}" for o in failing]
    if args.failures:
        args.failures.write_text("\n".join(lines) + "\n")
    for line in lines[: args.show]:
        print(line)


if __name__ == "__main__":
    main()
