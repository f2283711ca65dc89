"""`python -m audit serve|api|relay|consume|migrate|verify|report|export|application|replay`
(the commands: audit.entrypoints.cli, wired in audit.bootstrap)."""

from audit.bootstrap import command_line


def main() -> None:
    command_line()()


if __name__ == "__main__":
    main()
