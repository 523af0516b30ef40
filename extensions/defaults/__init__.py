"""Names and defaults that several layers share, as data (standard library only).

* :mod:`extensions.defaults.reward`: the baseline preset names and the structural clause weights.
* :mod:`extensions.defaults.tool`: the limits of the ``execute_sql`` tool (:class:`ToolLimits`).

They live at the bottom of the package so that :mod:`extensions.config` reads them without importing
:mod:`extensions.rewards` or :mod:`extensions.tool`, which both import the config.
"""
