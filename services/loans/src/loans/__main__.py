from sangsaeng_common.cli import cli
from loans.bootstrap import definition


def main() -> None:
    cli(definition)()


if __name__ == "__main__":
    main()
