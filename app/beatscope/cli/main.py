"""``beatscope`` entry point: parses arguments and dispatches to a sub-command.

User errors (``BeatScopeError``) become one line on stderr and a non-zero exit
status, never a traceback.
"""

from __future__ import annotations

import argparse
import sys

from beatscope.errors import BeatScopeError


class _PrintVersion(argparse.Action):
    """``--version`` in one line (argparse's own action wraps it at the terminal's
    width)."""

    def __call__(self, parser, namespace, values, option_string=None):
        from beatscope.about import version_line

        print(version_line())
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    from beatscope.cli import (
        analyze_cmd,
        combine_rhythm_cmd,
        evaluate_cmd,
        report_cmd,
        review_cmd,
        train_cmd,
        train_rhythm_cmd,
    )

    parser = argparse.ArgumentParser(
        prog="beatscope", description="BeatScope ECG analysis and review.",
        epilog="Without a command, `beatscope [RECORD] [--screenshot PNG]` opens the desktop "
               "viewer (`beatscope RECORD --help` lists its options).")
    parser.add_argument("--version", action=_PrintVersion, nargs=0,
                        help="the version, the models' manifests and what runs them, "
                             "in one line")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    analyze_cmd.add_parser(sub)
    evaluate_cmd.add_parser(sub)
    train_cmd.add_parser(sub)
    train_rhythm_cmd.add_parser(sub)
    combine_rhythm_cmd.add_parser(sub)
    review_cmd.add_parsers(sub)
    report_cmd.add_parser(sub)
    return parser


#: First arguments that mean the headless command line rather than the viewer.
_CLI_WORDS = {"analyze", "evaluate", "train", "train-rhythm", "combine-rhythm", "review",
              "export", "report", "-h", "--help", "--version"}


def main(argv: list[str] | None = None) -> int:
    import multiprocessing

    # a frozen (packaged) build starts its engine and --jobs processes through
    # this entry point; a no-op otherwise
    multiprocessing.freeze_support()
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] not in _CLI_WORDS:
        # `beatscope` and `beatscope RECORD [--screenshot PNG]` open the viewer.
        from beatscope.ui.app import run

        return run(argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except BeatScopeError as err:
        print(f"beatscope: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("beatscope: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
