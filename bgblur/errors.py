"""The one error type the user sees: printed as a single ``bgblur: error: …`` line."""


class BgblurError(Exception):
    """A problem the user can fix. The message names what is wrong and what to do."""

    exit_code = 1


class UsageError(BgblurError):
    """A bad command line (exit status 2, like argparse)."""

    exit_code = 2


def warn(message: str) -> None:
    """Tell the user something went wrong but the run goes on (one line on stderr)."""
    import sys

    print(f"bgblur: warning: {message}", file=sys.stderr, flush=True)


def info(message: str) -> None:
    """A one-line note on stderr (stdout stays free for data)."""
    import sys

    print(f"bgblur: {message}", file=sys.stderr, flush=True)
