"""The one error type the command line turns into a clear message instead of a traceback."""


class ZoomcampError(Exception):
    """A problem the user can fix (missing data, bad argument); its message says how."""
