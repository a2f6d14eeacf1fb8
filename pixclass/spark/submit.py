"""The application file for ``spark-submit``: ``pixclass cluster --engine spark ARGS...``.

    spark-submit --master spark://HOST:7077 "$(python -m pixclass.spark.submit --path)" \\
        hdfs:///images -o /shared/out/assignments.csv

The master and resources come from ``spark-submit``; everything after the application file is
``pixclass cluster``'s own arguments (``--features``, ``--k``, ``--seed``, ``--model-out``...).
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args == ["--path"]:
        print(__file__)
        return
    from pixclass.cli import cli

    cli.main(["cluster", "--engine", "spark", "--quiet", *args], prog_name="pixclass")


if __name__ == "__main__":
    main()
