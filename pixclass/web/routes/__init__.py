"""The app's routes, one module per page. Each module has ``pages`` (HTML, htmx fragments) and
``api`` (JSON under ``/api``); both call the same library and store functions."""
