"""The `chorale` command line: a thin face over the Python API (`chorale.api`, and
`chorale.forecast` for time series).

One module per command group (Click's complex example): `data`, `train` (and evaluate),
`write` (generate, harmonize, regenerate, render), `forecast`, `studio`; `app` holds the
root group and its error handling, `options` the options the writing commands share,
`types` the checked parameter types. Each command parses its options, calls the API and
prints. Heavy libraries are imported inside the commands, so `chorale --help` stays fast.
"""

from chorale.cli import data, forecast, studio, train, write
from chorale.cli.app import LAST_RESORT, cli

for command in (data.data, train.train_cmd, train.evaluate_cmd, write.generate, write.harmonize_cmd,
                write.regenerate_cmd, write.render, forecast.forecast_group, studio.studio_cmd):
    cli.add_command(command)

__all__ = ["cli", "main", "LAST_RESORT"]


def main():
    cli(prog_name="chorale")
