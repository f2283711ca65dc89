from intake.bootstrap import definition
from sangsaeng_common.cli import cli


def main() -> None:
    cli(definition)()


if __name__ == "__main__":
    main()
