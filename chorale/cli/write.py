"""The commands that write music: `generate`, `harmonize`, `regenerate` and `render`."""

from __future__ import annotations

import click

from chorale import defaults
from chorale.cli.options import (check_out, force_option, model_option, numbered_outputs, out_option, output_options,
                                 progress_bar, seed_option, temperature_option, voice_leading_option, write)
from chorale.cli.types import BARS, COUNT, PLAN_WEIGHT, POSITIVE, PROBABILITY, STEPS, Bars, Existing, Key, Primer, Voices


@click.command(short_help="Write a new chorale as MIDI.")
@model_option
@seed_option
@click.option("--count", type=COUNT, default=1, show_default=True,
              help="Chorales to write in one batched pass (song-01.mid, song-02.mid, ... with seeds seed, seed+1, ...).")
@click.option("--primer", type=Primer(), help="Opening to continue: test:3 (a held-out chorale's first two bars), a .csv, "
              "MIDI or MusicXML file, or none (default: a held-out chorale chosen by the seed).")
@click.option("--bars", type=BARS, default=defaults.BARS, show_default=True, help="Length in 4/4 bars.")
@click.option("--length", type=STEPS, help="Length in 16th-note steps (overrides --bars).")
@temperature_option
@click.option("--top-k", type=POSITIVE, help="Sample only from the k most likely notes.")
@click.option("--top-p", type=PROBABILITY, default=defaults.TOP_P, show_default=True,
              help="Sample only from the most likely notes that make up this probability (1: all).")
@click.option("--greedy", is_flag=True, help="Always take the most likely note (deterministic).")
@click.option("--range-guard/--no-range-guard", default=True, show_default=True,
              help="Keep each voice inside the range it sings in the training data.")
@voice_leading_option
@click.option("--plan-weight", type=PLAN_WEIGHT, default=defaults.PLAN_WEIGHT, show_default=True,
              help="How closely to follow the plan (key, fermatas, end): 1 is the model as it is, higher "
              "keeps the key more firmly (and samples at twice the cost).")
@click.option("--key", type=Key(), help="The key to write in, e.g. 'D minor', 'F# major', 'Bb' (default: the primer's; "
              "with --primer none, one of Bach's keys drawn by the seed).")
@click.option("--fermatas", type=Bars(), metavar="BARS", help="Bars whose last chord is held, ending a phrase, e.g. 2,4,6 "
              "(default: every second bar). The last chord always ends the piece, held.")
@click.option("--data", "data_path", help="Dataset for test:N primers (default: the bundled dataset).")
@out_option(defaults.GENERATE_OUT)
@output_options(files=False)
@force_option
def generate(model_dir, seed, count, primer, bars, length, temperature, top_k, top_p, greedy, range_guard,
             voice_leading, plan_weight, key, fermatas, data_path, out, outputs, tempo, program, title, force):
    """Write a new chorale, one note at a time, as a MIDI file.

    Example: chorale generate --seed 3 --out song.mid --wav song.wav --png song.png
    """
    from chorale.api import check_outputs, load_model, random_seed

    check_out(out)
    seed = random_seed(seed)
    model = load_model(model_dir)
    files = [numbered_outputs(out, outputs, i, count) for i in range(count)]
    for o in files:  # refuse before sampling: no time spent, no file written
        check_outputs(o, force)
    with progress_bar("Sampling") as update:
        pieces = model.generate(seed, count=count, bars=bars, steps=length, primer=primer, temperature=temperature,
                                top_k=top_k, top_p=top_p, greedy=greedy, range_guard=range_guard,
                                voice_leading=voice_leading, plan_weight=plan_weight, key=key, fermatas=fermatas,
                                data=data_path,
                                progress=update)
    for piece, o in zip(pieces, files):
        write(piece, o, title=title, tempo=tempo, program=program, force=force)
        d = piece.details
        planned = f"in {d['key']}, " if d.get("key") else ""
        click.echo(f"  {piece.steps} chords {planned}in {d['seconds']:.2f} s, seed {d['seed']}, "
                   f"mean log-likelihood {d['loglik']:.3f} nats per sampled note")


@click.command(short_help="Render a chorale to audio, a picture, MusicXML or sheet music.")
@click.argument("file", type=Existing())
@output_options(files=True)
@force_option
def render(file, outputs, tempo, program, title, force):
    """Render a chorale to audio, a piano roll, MusicXML or sheet music.

    FILE is a .mid/.midi, .csv (JSB layout) or MusicXML (.musicxml, .xml, .mxl) file.

    Example: chorale render chorale.csv --wav chorale.wav --png roll.png --sheet score.pdf
    """
    if not any(outputs.values()):
        raise click.UsageError(f"nothing to write: give at least one of {', '.join('--' + name for name in outputs)}")
    write(file, outputs, title=title, tempo=tempo, program=program, force=force)



@click.command("harmonize", short_help="Write alto, tenor and bass under a melody.")
@click.argument("melody", type=Existing())
@click.option("--voice", type=Voices(), default=defaults.VOICE, show_default=True,
              help="The voice that sings the melody (soprano, alto, tenor or bass); the model writes the "
              "other three. Two or three, e.g. soprano,bass: MELODY is a piece whose those voices are kept.")
@click.option("--part", help="Part or track holding the melody: a 0-based number or a name "
              "(default: the one named Soprano, else the first).")
@click.option("--candidates", type=COUNT, default=defaults.CANDIDATES, show_default=True,
              help="Harmonizations to sample; keep the one with the fewest voice-leading errors "
              "(then the highest log-likelihood).")
@model_option
@seed_option
@temperature_option
@voice_leading_option
@click.option("--key", type=Key(), help="The melody's key, e.g. 'D minor' (default: estimated from the melody).")
@click.option("--fermatas", type=Bars(), metavar="BARS", help="Bars of the melody whose last note is held, ending a phrase, "
              "e.g. 2,4,6 (default: the fermatas a MusicXML melody marks).")
@out_option(defaults.HARMONIZE_OUT)
@output_options(files=False)
@force_option
def harmonize_cmd(melody, voice, part, candidates, model_dir, seed, temperature, voice_leading, key, fermatas, out,
                  outputs, tempo, program, title, force):
    """Write alto, tenor and bass under a melody (or the other voices around --voice).

    MELODY is a MIDI, MusicXML or JSB-style CSV file with one melodic line (or pick one
    with --part); it is quantized to 16th notes and moved by octaves (else by the
    smallest shift) into the model's range for the voice. A CSV cannot tell a repeated
    note from a held one (C C becomes one long C): give MIDI or MusicXML to keep them.

    Example: chorale harmonize tune.mid --candidates 8 --seed 1 --out tune-satb.mid --wav tune.wav
    """
    from chorale.api import VOICES, check_outputs, describe_faults, load_model, note_name, random_seed

    check_out(out)
    outputs = numbered_outputs(out, outputs)
    check_outputs(outputs, force)  # refuse before sampling: no time spent, no file written
    seed = random_seed(seed)
    model = load_model(model_dir)
    with progress_bar(f"Harmonizing ({candidates} candidates)") as update:
        piece = model.harmonize(melody, voice=voice, part=part, candidates=candidates, seed=seed,
                                temperature=temperature, voice_leading=voice_leading, key=key, fermatas=fermatas,
                                progress=update)
    d = piece.details
    if d["shift"] and voice in VOICES:
        low, high = model.voice_ranges[VOICES.index(voice)]
        click.echo(f"Transposed the melody {'up' if d['shift'] > 0 else 'down'} {abs(d['shift'])} semitones to fit "
                   f"the model's {voice} range {note_name(low)}..{note_name(high)}.")
    elif d["shift"]:
        click.echo(f"Transposed the {voice.replace(',', ', ')} {'up' if d['shift'] > 0 else 'down'} "
                   f"{abs(d['shift'])} semitones to fit the model's ranges.")
    write(piece, outputs, title=title, tempo=tempo, program=program, force=force)
    click.echo(f"  {piece.steps} steps, candidate {d['candidate'] + 1} of {candidates} (seed {d['seed']}): "
               f"{describe_faults(d['faults'])}, mean log-likelihood {d['loglik']:.3f} nats per sampled note")


@click.command("regenerate", short_help="Rewrite some bars (and voices) of a chorale.")
@click.argument("file", type=Existing())
@click.option("--bars", required=True, help="The bars to rewrite, 1-based: 5-6, or 5.")
@click.option("--voices", help="Voices to rewrite, comma-separated (default: all four).")
@click.option("--keep", help="Voices whose notes stay inside the bars too, e.g. soprano.")
@click.option("--candidates", type=COUNT, default=defaults.CANDIDATES, show_default=True,
              help="Versions to sample; keep the one with the fewest voice-leading errors, then the most "
              "likely one.")
@model_option
@seed_option
@temperature_option
@voice_leading_option
@out_option()
@output_options(files=False)
@force_option
def regenerate_cmd(file, bars, voices, keep, candidates, model_dir, seed, temperature, voice_leading, out, outputs,
                   tempo, program, title, force):
    """Rewrite the chosen voices in the chosen bars of FILE; every other note stays as it is.

    FILE is a MIDI, MusicXML or JSB-style CSV chorale. Example:
    chorale regenerate song.mid --bars 5-6 --voices alto,tenor,bass --seed 1 --out song-v2.mid
    """
    from chorale.api import check_outputs, describe_faults, load, load_model, random_seed

    check_out(out)
    outputs = numbered_outputs(out, outputs)
    check_outputs(outputs, force)  # refuse before sampling: no time spent, no file written
    seed = random_seed(seed)
    piece, model = load(file), load_model(model_dir)
    with progress_bar(f"Regenerating ({candidates} candidates)") as update:
        new = model.regenerate(piece, bars=bars, voices=voices, keep=keep, candidates=candidates, seed=seed,
                               temperature=temperature, voice_leading=voice_leading, progress=update)
    d = new.details
    if d["whole"]:
        click.echo("The bars and voices cover the whole piece: this is writing it anew.")
    write(new, outputs, title=title, tempo=tempo, program=program, force=force)
    click.echo(f"  bars {d['bars'][0]}-{d['bars'][1]} ({', '.join(d['voices'])}), candidate {d['candidate'] + 1} of "
               f"{candidates} (seed {d['seed']}): {describe_faults(d['faults'])}, mean log-likelihood "
               f"{d['loglik']:.3f} nats per written note")
