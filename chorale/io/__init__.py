"""Files in and out: safe file handling, MIDI/MusicXML/CSV reading and writing, rendering."""
