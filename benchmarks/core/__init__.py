"""The ground floor: what every other package may use, importing nothing else of the project.

- numerics: ``metrics`` (AMS, accuracy, ROC AUC, cuts), ``stats`` (bootstraps, paired
  tests, chance intervals), ``audit`` (the AMS audit), ``weights`` and the metric objects
  in ``scoring``;
- plumbing: ``errors``, ``registry``, ``limits`` (bounds on user input, the machine's
  memory from ``sysconf``), ``files`` (atomic writes), ``naming`` (safe file names),
  ``secrets`` (redacting credentials), ``device`` (cpu/cuda, torch optional) and
  ``network`` (whether a host answers, over a socket).

Nothing here trains, loads data or writes reports; it may touch the OS (files, sockets,
``sysconf``) but never another package of the project (the layers contract in
pyproject.toml).
"""
