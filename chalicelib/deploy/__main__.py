"""``python -m chalicelib.deploy package STAGE OUTDIR [--no-deps]``: SAM template and zip;
``python -m chalicelib.deploy smoke URL``: the post-deploy check (``smoke.py``).

Checks the stage's authentication (``check_authentication``), exports the stage's environment
(``app.py`` names its queue at import), writes the merge template, runs ``chalice package
--merge-template`` and rewrites what a merge cannot (``finalize.py``). ``--no-deps`` packages a
copy of the project with an empty requirements file: no wheel downloads, so it runs offline
(the tests use it to catch route shapes that API Gateway would reject, and to lint the
template).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from ..auth.users import UsersFileError, UserStore
from .finalize import finalize
from .template import AUTHORIZER, merge_template, trusts_authorizer, users_parameter

PROJECT = Path(__file__).resolve().parents[2]
#: an SSM parameter name: path segments of letters, digits, ``_ . -``
_PARAMETER_NAME = re.compile(r"/?[A-Za-z0-9_.\-]+(/[A-Za-z0-9_.\-]+)*")


class PackageError(Exception):
    """The stage cannot be packaged as configured; the message says what to do."""


def check_authentication(stage: str, environment: dict[str, str], project: Path = PROJECT) -> None:
    """Fail unless the packaged stage can authenticate someone.

    A stage that names a users file (``WORKFLOW_USERS_FILE``, shipped in the zip) needs that file,
    valid; one naming an SSM parameter (``ssm:<name>``, read at cold start) a valid name (the
    parameter itself cannot be checked offline); a stage with neither a users file nor the
    authorizer (``WORKFLOW_TRUST_AUTHORIZER``) would answer every request 401.
    """
    users_file = environment.get("WORKFLOW_USERS_FILE", "").strip()
    where = f"stage '{stage}' in .chalice/config.json"
    parameter = users_parameter(environment)
    if parameter is not None:
        if not _PARAMETER_NAME.fullmatch(parameter):
            raise PackageError(
                f"WORKFLOW_USERS_FILE ({where}) names the SSM parameter {parameter!r}, which is "
                f"not a parameter name (ssm:/path/to/users: letters, digits, _ . - /)."
            )
    elif users_file:
        path = project / users_file
        if not path.is_file():
            raise PackageError(
                f"The users file {users_file} named by WORKFLOW_USERS_FILE ({where}) is missing: "
                f"it is not in git (deployers provide it). Create it with hashed passwords "
                f"(python -m chalicelib.auth.passwords), store it in SSM and name it "
                f"ssm:<parameter>, or drop WORKFLOW_USERS_FILE and set "
                f'WORKFLOW_TRUST_AUTHORIZER to "true" to use the Cognito authorizer '
                f"(docs/deploying.md, Authentication)."
            )
        try:
            UserStore.from_file(path)
        except UsersFileError as exc:
            raise PackageError(f"{exc} ({where})") from None
    elif not trusts_authorizer(environment):
        raise PackageError(
            f'The {where} would authenticate nobody: set WORKFLOW_TRUST_AUTHORIZER to "true" '
            f"(Cognito authorizer, the default for a deployed stage) or name a users file in "
            f"WORKFLOW_USERS_FILE (docs/deploying.md, Authentication)."
        )


def package(stage: str, outdir: Path, *, no_deps: bool = False) -> Path:
    """Package ``stage`` into ``outdir``; returns the SAM template's path."""
    config = json.loads((PROJECT / ".chalice" / "config.json").read_text())
    if stage not in config["stages"]:
        raise PackageError(
            f"No stage '{stage}' in .chalice/config.json (stages: {', '.join(config['stages'])})"
        )
    environment = config["stages"][stage].get("environment_variables", {})
    check_authentication(stage, environment)
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
        merge.write_text(
            json.dumps(
                merge_template(environment, stage=stage, app_name=config["app_name"]), indent=2
            )
        )
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
    sam = outdir / "sam.json"
    template = json.loads(sam.read_text())
    finalize(template, authorizer=AUTHORIZER if trusts_authorizer(environment) else None)
    sam.write_text(json.dumps(template, indent=2) + "\n")
    return sam


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["smoke"]:  # its own options (smoke.py)
        from .smoke import main as smoke

        return smoke(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m chalicelib.deploy")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("smoke", help="check a live API (smoke --help)", add_help=False)
    pkg = commands.add_parser("package", help="build the SAM template and deployment zip")
    pkg.add_argument("stage")
    pkg.add_argument("outdir", type=Path)
    pkg.add_argument(
        "--no-deps", action="store_true", help="package without requirements (offline; for checks)"
    )
    args = parser.parse_args(argv)
    try:
        template = package(args.stage, args.outdir, no_deps=args.no_deps)
    except PackageError as exc:
        print(f"package: {exc}", file=sys.stderr)
        return 2
    print(f"SAM template: {template}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
