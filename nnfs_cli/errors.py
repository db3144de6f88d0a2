"""The one exception class the CLI turns into a red line and an exit code."""


class NnfsError(Exception):
    """An expected problem the user can fix (exit code 2 unless said otherwise)."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code
