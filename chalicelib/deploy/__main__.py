"""``python -m chalicelib.deploy package STAGE OUTDIR [--no-deps]``: SAM template and zip.

Exports the stage's environment (``app.py`` names its queue at import), writes the merge
template, and runs ``chalice package --merge-template``. ``--no-deps`` packages a copy of the
project with an empty requirements file: no wheel downloads, so it runs offline (the tests use
it to catch route shapes that API Gateway would reject).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .template import merge_template

PROJECT = Path(__file__).resolve().parents[2]


def package(stage: str, outdir: Path, *, no_deps: bool = False) -> Path:
    """Package ``stage`` into ``outdir``; returns the SAM template's path."""
    config = json.loads((PROJECT / ".chalice" / "config.json").read_text())
    environment = config["stages"][stage]["environment_variables"]
    with tempfile.TemporaryDirectory() as scratch:
        project = PROJECT
        if no_deps:
            project = Path(scratch) / "project"
            project.mkdir()
            shutil.copy(PROJECT / "app.py", project / "app.py")
            shutil.copytree(
                PROJECT / "chalicelib",
                project / "chalicelib",
                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
            )
            shutil.copytree(
                PROJECT / ".chalice",
                project / ".chalice",
                ignore=shutil.ignore_patterns("deployments", "venv"),
            )
            (project / "requirements.txt").write_text("")
        merge = Path(scratch) / "merge.json"
        merge.write_text(json.dumps(merge_template(environment), indent=2))
        env = dict(os.environ, **environment)
        env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
        outdir = outdir.resolve()
        subprocess.run(
            [
                sys.executable,
                "-c",
                "from chalice.cli import main; main()",
                "--project-dir",
                str(project),
                "package",
                "--stage",
                stage,
                "--merge-template",
                str(merge),
                str(outdir),
            ],
            check=True,
            env=env,
            cwd=project,
        )
    return outdir / "sam.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chalicelib.deploy")
    commands = parser.add_subparsers(dest="command", required=True)
    pkg = commands.add_parser("package", help="build the SAM template and deployment zip")
    pkg.add_argument("stage")
    pkg.add_argument("outdir", type=Path)
    pkg.add_argument(
        "--no-deps", action="store_true", help="package without requirements (offline; for checks)"
    )
    args = parser.parse_args(argv)
    template = package(args.stage, args.outdir, no_deps=args.no_deps)
    print(f"SAM template: {template}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
