"""The ``embedlab`` command line: a thin shell over the library.

``main`` runs the Typer app (which handles usage errors itself, exit code 2) and turns any
embedlab error, or an OS error such as a missing file, into ``ErrorType: message`` on stderr with
exit code 1 -- never a traceback.
"""

from __future__ import annotations

import sys

__all__ = ["main"]


def main(argv: list[str] | None = None) -> None:
    from ..errors import EmbedlabError
    from .app import app

    try:
        app(args=argv, prog_name="embedlab")
    except (EmbedlabError, OSError) as e:
        print(f"{type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        sys.exit(130)
