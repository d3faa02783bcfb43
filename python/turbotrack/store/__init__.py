"""The storage side of turbotrack: where runs live on disk and how they are read back.

``layout`` names every file of a run folder; the SDK writes through it, and the local ``Api``,
``sync`` and ``server`` read through it.
"""
