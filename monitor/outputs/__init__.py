"""Where commands write: `-o FILE` (`files`) and the status site's folder (`folders`).

One implementation for every `-o`, so the rules of docs/cli.md ("Files and paths") hold for
each command alike: a file is replaced whole or a device written in place, and a folder is
replaced only when it is new, empty or a site this program wrote.
"""
