"""What a person does, one module per action, called the same way by the CLI, the web routes and
the job kinds:

- ``ingest``: add folders, zips, datasets, uploads and inbox files to a collection
- ``cluster``: cluster a stored collection into a run
- ``classify``: give new images the classes of a run's model
- ``corrections``: move, confirm, merge, split and rename classes
- ``similar``: the images most like one image
- ``export``: write a run's classes out (CSV, JSON, folders, zip, a selection)
- ``targets``: who is told about a collection, and sending to them
- ``pages``: what a page of the app shows
- ``collections``, ``runs``, ``admin``: the store's queries, named for the layers above
- ``models``: the one cache of loaded run models

Each is a plain function over a ``Store`` (or ``Settings``) and ids. ``web`` and ``cli`` reach the
database only through this package; ``store`` never imports it. The modules are imported one by
one (``from pixclass.services.ingest import ingest``) so that a command loads only what it uses.
"""
