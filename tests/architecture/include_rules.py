#!/usr/bin/env python3
"""Checks the dependency rule of docs/architecture.md on every #include.

Usage: include_rules.py SOURCE_DIR        check the tree; exit 1 on a violation
       include_rules.py --self-test       check the checker on planted trees

Each rule names the folders it governs and the include prefixes they may not
use. Quoted includes ("service/kb/knowledge_base.h") are project paths;
angle-bracket includes (<sqlite3.h>) are libraries. A violation prints
FILE:LINE: the include, and the rule it breaks.
"""

import os
import re
import sys
import tempfile

# (folder prefix, forbidden include prefixes, why). The first matching
# folder prefixes all apply (a file in service/engine obeys both the
# service/ and the service/engine/ rules).
RULES = [
    ("common/", ("service/", "adapters/", "tools/", "tests/"),
     "common/ holds the base libraries both sides use: it uses neither side"),
    ("service/", ("adapters/", "tools/", "tests/"),
     "the service never includes an adapter"),
    ("adapters/", ("service/", "tools/", "tests/"),
     "adapters talk to the service through proto/ and gRPC only"),
    ("service/engine/", ("service/server/", "service/ledger/", "grpc", "grpcpp/",
                         "sqlite3", "libpq", "postgresql/", "simdjson",
                         "event2/", "curl/", "openssl/", "fstream",
                         "iostream", "cstdio", "stdio.h", "chrono", "ctime",
                         "thread", "random", "absl/time/clock.h"),
     "the engine is pure: no gRPC, SQL, JSON, I/O, clock or threads"),
    ("service/kb/", ("service/server/", "service/ledger/", "service/engine/",
                     "grpc", "grpcpp/", "sqlite3", "libpq", "simdjson"),
     "the knowledge base is data the engine reads; it knows no server"),
    ("proto/", ("service/", "adapters/", "tools/", "common/"),
     "proto/ is the contract; it depends on nothing of ours"),
    # The batch audit's parts, in dependency order: export, findings,
    # report, run (adapters/batch/CMakeLists.txt).
    ("adapters/batch/export/", ("adapters/batch/findings/",
                                "adapters/batch/report/",
                                "adapters/batch/run/"),
     "reading the export knows nothing of findings, the report or the run"),
    ("adapters/batch/findings/", ("adapters/batch/export/",
                                  "adapters/batch/report/",
                                  "adapters/batch/run/"),
     "a finding is a value; its formats need no other part"),
    ("adapters/batch/report/", ("adapters/batch/export/",
                                "adapters/batch/run/"),
     "the report is a function of the findings and the input counts"),
]

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
SOURCE_SUFFIXES = (".h", ".cc", ".cpp", ".hpp", ".proto")
SKIP_DIRS = {"build", ".git", "node_modules"}


def violations(source_dir):
    found = []
    for root, dirs, files in os.walk(source_dir):
        dirs[:] = [d for d in dirs
                   if d not in SKIP_DIRS and not d.startswith("build")]
        for name in files:
            if not name.endswith(SOURCE_SUFFIXES):
                continue
            path = os.path.join(root, name)
            rel = os.path.relpath(path, source_dir).replace(os.sep, "/")
            rules = [r for r in RULES if rel.startswith(r[0])]
            if not rules:
                continue
            with open(path, encoding="utf-8", errors="replace") as f:
                for number, line in enumerate(f, 1):
                    if name.endswith(".proto"):
                        m = re.match(r'^\s*import\s+"([^"]+)"', line)
                        target = m.group(1) if m else None
                    else:
                        m = INCLUDE.match(line)
                        target = m.group(2) if m else None
                    if target is None:
                        continue
                    for folder, forbidden, why in rules:
                        if target.startswith(forbidden):
                            found.append(f"{rel}:{number}: #include {target}: "
                                         f"{why} ({folder})")
    return found


def self_test():
    """The checker must catch planted violations and pass a clean tree."""
    cases = {
        "adapters/x/a.cc": ('#include "service/kb/knowledge_base.h"\n', 1),
        "service/server/b.cc": ('#include "adapters/fhir/vocabulary.h"\n', 1),
        "common/text/c.h": ('#include "service/common/fhir_date.h"\n', 1),
        "service/engine/d.cc": ("#include <sqlite3.h>\n#include <fstream>\n", 2),
        "service/engine/e.cc": ('#include "service/engine/as_of.h"\n'
                                '#include "common/text/context.h"\n', 0),
        "adapters/y/f.cc": ('#include "common/text/term_matcher.h"\n'
                            '#include "adapters/fhir/vocabulary.h"\n', 0),
        "tools/cli/g.cc": ('#include "service/kb/knowledge_base.h"\n', 0),
        "proto/needlecheck/v1/h.proto": ('import "needlecheck/v1/a.proto";\n', 0),
        "adapters/batch/export/i.cc": ('#include "adapters/batch/run/audit_run.h"\n'
                                       '#include "adapters/batch/export/shard.h"\n', 1),
        "adapters/batch/report/j.cc": ('#include "adapters/batch/export/shard.h"\n'
                                       '#include "adapters/batch/findings/finding_record.h"\n', 1),
        "adapters/batch/findings/k.h": ('#include "adapters/batch/report/audit_summary.h"\n', 1),
        "adapters/batch/run/l.cc": ('#include "adapters/batch/export/shard.h"\n'
                                    '#include "adapters/batch/report/report_html.h"\n', 0),
    }
    failures = 0
    for rel, (text, expected) in cases.items():
        with tempfile.TemporaryDirectory() as tree:
            path = os.path.join(tree, rel)
            os.makedirs(os.path.dirname(path))
            with open(path, "w") as f:
                f.write(text)
            got = violations(tree)
            if len(got) != expected:
                print(f"self-test {rel}: expected {expected} violations, "
                      f"got {got}")
                failures += 1
    print(f"self-test: {len(cases) - failures} of {len(cases)} cases right")
    return 1 if failures else 0


def main(argv):
    if len(argv) == 2 and argv[1] == "--self-test":
        return self_test()
    if len(argv) != 2:
        print(__doc__)
        return 2
    found = violations(argv[1])
    for line in found:
        print(line)
    print(f"include rules: {len(found)} violation(s)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
