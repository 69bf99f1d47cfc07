"""`python -m app.settings_check`: validate the environment's settings and exit."""

import sys

from pydantic import ValidationError

from app.settings import Settings, describe_error


def main() -> int:
    try:
        settings = Settings()  # pyright: ignore[reportCallIssue]  # fields come from the environment
    except ValidationError as error:
        print(describe_error(error), file=sys.stderr)
        return 2
    print(f"settings OK (APP_ENV={settings.app_env})")
    return 0


if __name__ == "__main__":  # pragma: no cover - exercised through subprocess tests
    sys.exit(main())
