"""Rechroma desktop app (PySide6): a batch queue and a before/after view on top of the engine.

Layering: ``queue_model`` / ``queue_store`` / ``settings`` hold state, ``worker`` and ``batch`` run the engine
off the GUI thread, ``compare_view`` / ``main_window`` / ``export_dialog`` / ``dialogs`` are the widgets, and
``actions`` is the command layer (QActions + shortcuts) that the window wires to the controller.
"""
