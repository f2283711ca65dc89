from sangsaeng_common.cli import cli
from districts.bootstrap import build


def main() -> None:
    cli(build)()


if __name__ == "__main__":
    main()
