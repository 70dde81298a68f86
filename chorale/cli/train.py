"""`chorale train` and `chorale evaluate`."""

from __future__ import annotations

import click

from chorale import ChoraleError, defaults
from chorale.cli.types import LEARNING_RATE, POSITIVE, SEED, Existing
from chorale.registry import BACKBONES, DEFAULT_BACKBONE, recipe_help


def _parse_options(pairs):
    """KEY=VALUE pairs -> dict; values are Python literals (64, 0.1, True, (1,2,4,8)) or strings."""
    import ast

    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ChoraleError(f"--option '{pair}': expected KEY=VALUE")
        try:
            options[key.strip()] = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            options[key.strip()] = value.strip()
    return options


@click.command("train", short_help="Train a chorale model.")
@click.option("--arch", help=f"The backbone: {'; '.join(f'{b.name}: {b.help}' for b in BACKBONES.values())} "
              f"(default: {DEFAULT_BACKBONE}).")
@click.option("--data", "data_path", help="Dataset folder or archive (default: the bundled dataset).")
@click.option("--epochs", type=POSITIVE,
              help=f"Maximum epochs; early stopping may end sooner (default: {recipe_help('epochs')}).")
@click.option("--batch-size", type=POSITIVE, help=f"Windows per step (default: {recipe_help('batch_size')}).")
@click.option("--learning-rate", type=LEARNING_RATE,
              help=f"Nadam's peak rate (default: {recipe_help('learning_rate')}; schedule: {recipe_help('schedule')}).")
@click.option("--augment/--no-augment", default=None,
              help="Transpose training windows by up to 3 semitones within each voice's range; the last "
              "quarter of the epochs trains on the real keys.")
@click.option("--plan/--no-plan", default=None,
              help="Train with plan inputs (key, fermatas, steps to the end; each sometimes hidden) so "
              f"sampling can be told them (default: {recipe_help('plan')}).")
@click.option("--look-ahead/--no-look-ahead", default=None,
              help="Train an encoder that reads the known notes both ways (a melody, the music around a "
              f"region) for harmonize and regenerate; random masks, loss on the unknown notes (default: "
              f"{recipe_help('look_ahead')}).")
@click.option("--seed", type=SEED, help="Same seed, data and options: the same model (on CPU).")
@click.option("-o", "--option", "options", multiple=True, metavar="KEY=VALUE",
              help="Backbone option, e.g. filters=96 or dilations=(1,2,4,8,1,2,4,8) (repeatable).")
@click.option("--out", type=click.Path(path_type=str),
              help="Run folder (default: a new one under outputs/models/).")
@click.option("--resume", is_flag=True, help="Continue the interrupted run in --out from its last checkpoint.")
@click.option("--force", is_flag=True, help="Replace an existing --out folder.")
@click.option("--distribute", type=click.Choice(["none", "mirrored"]), default="none",
              help="mirrored: all local devices (or all workers when TF_CONFIG is set).")
def train_cmd(arch, data_path, epochs, batch_size, learning_rate, augment, plan, look_ahead, seed, options, out,
              resume, force, distribute):
    """Train a chorale model; write model.keras, card.json, history.csv and training.png."""
    from chorale.api import train

    if resume and not out:
        raise ChoraleError("--resume needs --out, the run folder to continue")
    model = train(out, data=data_path, arch=arch, epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
                  augment=augment, plan=plan, look_ahead=look_ahead, seed=seed,
                  options=_parse_options(options) or None, resume=resume, force=force, distribute=distribute)
    if model is None:
        click.echo("This worker is done; the chief worker writes the run folder.")
        return
    card, m = model.card, model.card["metrics"]
    click.echo(f"Saved {model.path}/model.keras ({card['architecture']}, {card['parameters']:,} parameters, "
               f"seed {card['hyperparameters']['seed']}): best epoch {m['best_epoch']}, val loss "
               f"{m['val_loss']:.4f}, val accuracy {m['val_accuracy']:.4f}, {card['wall_time_s']:.0f} s")


@click.command("evaluate", short_help="Score a model (NLL, accuracy) or files (musicality).")
@click.option("--model", "model_dir", type=click.Path(path_type=str),
              help="A trained model folder (default: the bundled model; not with --music).")
@click.option("--data", "data_path", help="Dataset folder, archive or CSV (default: the bundled dataset).")
@click.option("--split", default=defaults.SPLIT, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@click.option("--music", is_flag=True, help="Score the musicality of FILES (chorale files, or folders of "
              "them: one column each) next to the real chorales of --split.")
@click.option("--per-chorale", is_flag=True, help="With --music: also one line per chorale.")
@click.argument("files", nargs=-1, type=Existing(folder_ok=True))
def evaluate_cmd(model_dir, data_path, split, as_json, music, per_chorale, files):
    """Next-token NLL (nats/token) and accuracy: windowed (the reference protocol) and whole-chorale;
    for a model with look-ahead also harmonize (alto, tenor, bass given the soprano) and
    infill (2-bar regions given the rest), each beside the same notes read left to right.

    With --music FILES...: voice leading (parallel and hidden fifths and octaves, crossings,
    spacing, range) and style statistics (pitch-class and interval histograms, key
    consistency, repetition), side by side with real Bach. See docs/music.md.
    """
    import json

    if music:
        return _evaluate_music(files, data_path, split, as_json, per_chorale)
    if files:
        raise click.UsageError("FILES are scored with --music")
    from chorale.api import VOICES, evaluate

    r = evaluate(model_dir, data=data_path, split=split)
    if as_json:
        click.echo(json.dumps(r, indent=2))
        return
    click.echo(f"{r['model']} ({r['architecture']}) on {r['data']} [{r['split']}], {r['chorales']} chorales")
    click.echo(f"  {'protocol':<16} {'NLL':>7} {'acc':>7} {'tokens':>8}   NLL soprano/alto/tenor/bass")
    rows = [(name, r[name]) for name in ("windowed", "whole")]
    rows += [(f"{name}+plan", s) for name, s in r.get("planned", {}).items()]  # told each chorale's plan
    for protocol in ("harmonize", "infill"):  # look-ahead, and the same tokens read left to right
        if r.get(protocol):
            rows += [(protocol, r[protocol]["look_ahead"]), (f"{protocol} L-to-R", r[protocol]["left_to_right"])]
    for name, s in rows:
        if s is None:
            click.echo(f"  {name:<16} (no chorale is long enough for a 33-chord window)")
            continue
        voices = " ".join(f"{s['per_voice'][v]:.4f}" if v in s["per_voice"] else "     -" for v in VOICES)
        click.echo(f"  {name:<16} {s['nll']:7.4f} {s['accuracy']:7.4f} {s['tokens']:8d}   {voices}")


def _evaluate_music(files, data_path, split, as_json, per_chorale):
    import json

    from chorale.api import chorale_table, evaluate_music, music_table

    if not files:
        raise click.UsageError("--music needs FILES: chorale files (.mid, .csv, MusicXML) or folders of them")
    r = evaluate_music(files, data=data_path, split=split)
    if as_json:
        click.echo(json.dumps(r, indent=2))
        return
    if per_chorale:
        for title, scored in list(r["columns"].items())[1:]:
            click.echo(f"{title}:\n{chorale_table(scored)}\n")
    counts = {title: len(scored["chorales"]) for title, scored in r["columns"].items()}
    click.echo(music_table({f"{title} ({n})": r["columns"][title]["aggregate"] for title, n in counts.items()}))
