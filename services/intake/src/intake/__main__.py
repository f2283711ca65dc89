from intake.bootstrap import build
from sangsaeng_common.cli import cli


def main() -> None:
    cli(build)()


if __name__ == "__main__":
    main()
