"""`chorale studio`: the local web page."""

from __future__ import annotations

import click

from chorale.cli.options import model_option
from chorale.cli.types import Host


@click.command("studio", short_help="A local web page to write, hear, harmonize and regenerate chorales.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="Port to listen on (0: any free port).")
@click.option("--host", type=Host(), default="127.0.0.1", show_default=True,
              help="Interface to listen on: this computer only unless you name another (e.g. 0.0.0.0).")
@model_option
@click.option("--open", "open_browser", is_flag=True, help="Open the page in your web browser.")
def studio_cmd(port, host, model_dir, open_browser):
    """Serve the studio page on http://127.0.0.1:PORT/ until Ctrl-C.

    Write (seed, bars, key, temperature, primer), see the piano roll and the sheet music,
    hear it, harmonize an uploaded melody, select bars and voices on the roll and
    regenerate them (with undo and redo), and download MIDI, MusicXML, WAV or CSV. The
    page is served from the package: it needs no internet.

    Example: chorale studio --open
    """
    from chorale.api import studio

    studio(host=host, port=port, model_dir=model_dir, open_browser=open_browser, echo=click.echo)
